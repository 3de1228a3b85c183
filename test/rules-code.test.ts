import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  edgeId, fileId, instanceId, processId, unitId,
  type AlertNode, type Batch, type EdgeType, type GraphEdge, type GraphNode, type InstanceNode, type ProcessNode, type UnitNode,
} from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { tempDir } from './helpers.js';

const N = 'node-c';
const T0 = 1_790_000_000_000_000;
const inst = (pid: number, fn: string): InstanceNode => ({ id: instanceId(N, pid, T0), type: 'Instance', node: N, rootPid: pid, start: T0, mode: 'process-tree', function: fn });
const proc = (pid: number, start: number, exe: string): ProcessNode => ({ id: processId(N, pid, start), type: 'Process', node: N, pid, start, exe, argv: [exe] });
const unit = (p: ProcessNode, callId: string, start: number, i: InstanceNode): UnitNode => ({
  id: unitId(N, p.pid, p.start, callId, start), type: 'Unit', node: N, pid: p.pid, processStart: p.start, callId, start, instance: i.id, function: i.function,
});
const file = (path: string, version: number): GraphNode => ({ id: fileId(N, path, version), type: 'File', node: N, path, version });

function batch(seq: number, edges: [EdgeType, GraphNode, GraphNode, number][]): Batch {
  const nodes = new Map<string, GraphNode>();
  const es: GraphEdge[] = edges.map(([type, from, to, t]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10 };
  });
  return { agent: `${N}:1`, seq, nodes: [...nodes.values()], edges: es };
}

// The shipped rules, on a function whose code lives in /srv/fn (no glob names that directory).
describe('code rules: the directory code was loaded from, and code another invocation wrote', () => {
  const dir = tempDir('fp-rules-code-');
  let store: SqliteGraphStore;
  const fn = inst(300, 'resize');
  const other = inst(400, 'thumbs');
  const py = proc(301, T0 + 1, '/usr/bin/python3');
  const py2 = proc(401, T0 + 2, '/usr/bin/python3');
  const u1 = unit(py, 'c-1', T0 + 100, fn);
  const u2 = unit(py, 'c-2', T0 + 200, fn);
  const u3 = unit(py2, 'c-3', T0 + 300, other);
  const evil = file('/srv/fn/lib/evil.py', T0 + 110);
  const out = file('/tmp/out.txt', T0 + 120);
  const cache = file('/srv/fn/__pycache__/index.cpython-311.pyc', T0 + 5);
  const elsewhere = file('/srv/fn/lib/x.py', T0 + 310);

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
    const history = [
      // Start-up: the image loads its code (and the interpreter's), writes its bytecode cache.
      batch(0, [
        ['WAS_ASSOCIATED_WITH', py, fn, T0 + 1], ['USED', py, file('/usr/lib/python3.11/os.py', 0), T0 + 2],
        ['USED', py, file('/srv/fn/index.py', 0), T0 + 3], ['USED', py, file('/srv/fn/lib/util.py', 0), T0 + 4],
        ['WAS_GENERATED_BY', cache, py, T0 + 5],
        ['WAS_ASSOCIATED_WITH', py2, other, T0 + 2], ['USED', py2, file('/srv/thumbs/main.py', 0), T0 + 3],
      ]),
      // Later batches: invocation 1 plants code and writes an ordinary file; 2 loads the code and reads the file.
      batch(1, [['WAS_GENERATED_BY', evil, u1, T0 + 110], ['WAS_GENERATED_BY', out, u1, T0 + 120]]),
      batch(2, [['USED', u2, evil, T0 + 210], ['USED', u2, out, T0 + 220], ['WAS_GENERATED_BY', elsewhere, u3, T0 + 310]]),
    ];
    for (const b of history) await applyBatch(store, b, undefined, rules);
  }, 60000);

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alerts = async (rule: string) => ((await store.alerts({ limit: 100, offset: 0 })) as AlertNode[]).filter((a) => a.rule === rule);

  it('flags a write into a directory the function loaded code from, learned from its module loads', async () => {
    const a = await alerts('write-into-loaded-code-dir');
    // Not the image's own bytecode cache, not /tmp, not another function's write there (its code is in /srv/thumbs).
    expect(a.map((x) => [x.subject, x.object])).toEqual([[u1.id, evil.id]]);
    expect(a[0]).toMatchObject({ severity: 'critical', function: 'resize' });
    expect(a[0]!.summary).toContain('/srv/fn/lib');
  });

  it('flags code loaded by one invocation from a file another invocation wrote, and not ordinary data', async () => {
    const a = await alerts('code-from-another-invocation');
    expect(a.map((x) => [x.subject, x.object])).toEqual([[u2.id, evil.id]]);
    expect(a[0]).toMatchObject({ severity: 'critical' });
  });
});
