import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SqliteGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { ROOT, faasprov, tempDir } from './helpers.js';
import { recordedWorkload } from './workload.js';

const PYTHON = join(ROOT, '.tools', 'pyvenv', 'bin', 'python');

describe('exports of a trace', () => {
  const dir = tempDir('fp-export-');
  const store = join(dir, 's.db');
  let start = '';

  beforeAll(async () => {
    const s = new SqliteGraphStore(store);
    for (const b of recordedWorkload('n1:exp', 'n1')) await applyBatch(s, b);
    // The file the recorded shell wrote last: its backward trace crosses processes and files.
    const { nodes } = await s.all();
    start = nodes.find((n) => n.type === 'File' && n.path === '/tmp/fp-rec4.txt')!.id;
    await s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const traceTo = async (format: string, env: Record<string, string> = {}) => {
    const out = join(dir, `t.${format}`);
    const r = await faasprov(['trace', start, '--backward', '--store', store, '--format', format, '--out', out], { env });
    return { r, out };
  };

  it('writes W3C PROV-JSON that the Python prov library reads back', async () => {
    const { r, out } = await traceTo('prov-json');
    expect(r.exitCode).toBe(0);
    const json = JSON.parse(String((await traceTo('json')).r.exitCode === 0 && readFileSync(join(dir, 't.json'), 'utf8')));
    const py = await execa(PYTHON, ['-c', [
      'import sys, prov.model as pm',
      'd = pm.ProvDocument.deserialize(sys.argv[1], format="json")',
      'recs = d.get_records()',
      'print(len([r for r in recs if r.is_element()]), len([r for r in recs if r.is_relation()]))',
      'print(sorted({r.get_type().localpart for r in recs if r.is_relation()}))',
    ].join('\n'), out], { reject: false });
    expect(py.stderr).toBe('');
    const [counts, kinds] = String(py.stdout).trim().split('\n');
    expect(counts).toBe(`${json.nodes.length} ${json.edges.length}`);
    expect(kinds).toContain('Usage');
    expect(kinds).toContain('Generation');
    expect(kinds).toContain('Communication');
  });

  it('writes GraphML with every node and edge', async () => {
    const { r, out } = await traceTo('graphml');
    expect(r.exitCode).toBe(0);
    const py = await execa(PYTHON, ['-c', [
      'import sys, xml.etree.ElementTree as ET',
      'ns = {"g": "http://graphml.graphdrawing.org/xmlns"}',
      'root = ET.parse(sys.argv[1]).getroot()',
      'print(len(root.findall(".//g:node", ns)), len(root.findall(".//g:edge", ns)))',
    ].join('\n'), out], { reject: false });
    const json = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as { nodes: unknown[]; edges: unknown[] };
    expect(String(py.stdout).trim()).toBe(`${json.nodes.length} ${json.edges.length}`);
  });

  it('renders SVG through Graphviz, and says how to get Graphviz when it is missing', async () => {
    if (existsSync('/usr/bin/dot')) {
      const { r, out } = await traceTo('svg');
      expect(r.exitCode).toBe(0);
      expect(readFileSync(out, 'utf8')).toContain('<svg');
    }
    const { r } = await traceTo('png', { FAASPROV_GRAPHVIZ_DOT: '/nonexistent/dot' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('apt-get install graphviz');
  });
});

describe('faasprov search and export, through the query API', () => {
  const dir = tempDir('fp-cli-api-');
  const store = join(dir, 's.db');
  beforeAll(async () => {
    const s = new SqliteGraphStore(store);
    for (const b of recordedWorkload('n1:cli', 'n1')) await applyBatch(s, b);
    await s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds nodes by text and type, and exports a trace as PROV-JSON', async () => {
    const r = await faasprov(['search', 'fp-rec', '--type', 'File', '--store', store]);
    expect(r.exitCode).toBe(0);
    const lines = String(r.stdout).trim().split('\n');
    expect(lines.some((l) => l.includes('/tmp/fp-rec4.txt'))).toBe(true);
    const id = lines.find((l) => l.includes('/tmp/fp-rec4.txt'))!.split(/\s+/)[0]!;
    const x = await faasprov(['export', id, '--store', store]);
    expect(x.exitCode).toBe(0);
    expect(JSON.parse(String(x.stdout))).toHaveProperty('wasGeneratedBy');
    const bad = await faasprov(['search', '--limit', '100000', '--store', store]);
    expect(bad.exitCode).not.toBe(0);
    const missing = await faasprov(['search', 'x', '--store', join(dir, 'nope.db')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no store at');
  });
});
