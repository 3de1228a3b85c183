import { describe, expect, it, afterAll } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TENANTS, type FileNode, type ProcessNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { trace } from '@faasprov/graph-service';
import { faasprov, readGraph, tempDir } from './helpers.js';

// Real bpftrace through the real CLI: `a > f; b >> f; c >> f`.
describe('appends extend the version they met (real capture)', () => {
  const dir = tempDir('fp-append-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the backward trace from the last version reaches every writer', async () => {
    const store = join(dir, 'store.db');
    const out = join(dir, 'g.json');
    const f = join(dir, 'report.txt');
    const script = `cat /etc/hostname > ${f}; uname -s >> ${f}; wc -c /etc/hostname >> ${f}`;
    const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', script]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(f, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    const g = readGraph(out);
    const versions = g.nodes.filter((n): n is FileNode => n.type === 'File' && n.path === f).sort((a, b) => a.version - b.version);
    expect(versions).toHaveLength(3);
    const s = new SqliteGraphStore(store);
    try {
      const t = await trace(s, versions[2]!.id, { direction: 'backward', scope: ALL_TENANTS });
      const exes = t.nodes.filter((n): n is ProcessNode => n.type === 'Process').map((p) => p.exe.split('/').pop());
      expect(exes).toEqual(expect.arrayContaining(['cat', 'uname', 'wc']));
      // Through the versions each append extended, not through the shell alone.
      const derived = t.edges.filter((e) => e.type === 'WAS_DERIVED_FROM').map((e) => [e.from, e.to]);
      expect(derived).toEqual(expect.arrayContaining([[versions[2]!.id, versions[1]!.id], [versions[1]!.id, versions[0]!.id]]));
      // What cat read reaches the last version too.
      expect(t.nodes.some((n) => n.type === 'File' && n.path === '/etc/hostname')).toBe(true);
    } finally {
      await s.close();
    }
  });
});
