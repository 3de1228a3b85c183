/**
 * The shipped `volume-flow-between-functions` rule (kind cross-function-volume): a unit reading a
 * file version on an F3 volume that a unit of another function wrote raises; a function reading
 * its own files on the volume, or a file no unit wrote, does not. On both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { edgeId, fileId, processId, unitId, type AlertNode, type Batch, type EdgeType, type GraphEdge, type GraphNode, type ProcessNode, type UnitNode } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { tempDir } from './helpers.js';

const N = 'node-v';
const T0 = 1_790_000_000_000_000;
const proc = (pid: number): ProcessNode => ({ id: processId(N, pid, T0), type: 'Process', node: N, pid, start: T0, exe: '/usr/bin/python3', argv: ['python3'] });
const unit = (p: ProcessNode, fn: string, callId: string, start: number): UnitNode => ({
  id: unitId(N, p.pid, p.start, callId, start), type: 'Unit', node: N, pid: p.pid, processStart: p.start, callId, start, function: fn,
});
const onVolume = (path: string, version: number): GraphNode => ({ id: fileId('store-node', path, version, 'catalog'), type: 'File', node: 'store-node', path, version, volume: 'catalog', tier: 'durable' });
function batch(seq: number, edges: [EdgeType, GraphNode, GraphNode, number][]): Batch {
  const nodes = new Map<string, GraphNode>();
  const es: GraphEdge[] = edges.map(([type, from, to, t]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10 };
  });
  return { agent: `${N}:1`, seq, nodes: [...nodes.values()], edges: es };
}

describe('volume-flow-between-functions', () => {
  const dir = tempDir('fp-volume-rule-');
  const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
  let sqlite: GraphStore;
  let neo: GraphStore;
  const pay = proc(10);
  const cat = proc(20);
  const stash = onVolume('/zz.json', T0 + 10);
  const product = onVolume('/mug.json', T0 + 20);
  const found = onVolume('/cap.json', 0);
  const w = unit(pay, 'authorize-cc', 'pay-1', T0 + 5);
  const c1 = unit(cat, 'catalog', 'cat-1', T0 + 15);
  const c2 = unit(cat, 'catalog', 'cat-2', T0 + 30);
  const history = [
    batch(0, [['WAS_GENERATED_BY', stash, w, T0 + 10], ['WAS_GENERATED_BY', product, c1, T0 + 20]]),
    // Read in a later batch: the writer comes from the store.
    batch(1, [['USED', c2, stash, T0 + 31], ['USED', c2, product, T0 + 32], ['USED', c2, found, T0 + 33]]),
  ];

  beforeAll(async () => {
    sqlite = new SqliteGraphStore(join(dir, 's.db'));
    neo = await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    await (neo as Neo4jGraphStore).clear();
    for (const s of [sqlite, neo]) for (const b of history) await applyBatch(s, structuredClone(b), undefined, rules);
  }, 120000);

  afterAll(async () => {
    await sqlite?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises on the read of what another function wrote, only', async () => {
    for (const s of [sqlite, neo]) {
      const a = ((await s.alerts({ limit: 50, offset: 0 })) as AlertNode[]).filter((x) => x.rule === 'volume-flow-between-functions');
      expect(a.map((x) => [x.subject, x.object])).toEqual([[c2.id, stash.id]]);
      expect(a[0]).toMatchObject({ severity: 'high', function: 'catalog' });
      expect(a[0]!.summary).toContain('written by invocation pay-1');
    }
  });
});
