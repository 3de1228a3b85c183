/**
 * The shipped `volume-flow-between-functions` rule (kind cross-function-volume): a unit reading a
 * file version on an F3 volume that a unit of another function wrote raises; a function reading
 * its own files on the volume, or a file no unit wrote, does not. On both stores.
 */
import { describe, expect, it } from '@jest/globals';
import { fileId, processId, unitId, type AlertNode, type Batch, type GraphNode, type ProcessNode, type UnitNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { edgeBatch, useRuleStores, type HistoryEdge } from './rule-history.js';

const N = 'node-v';
const T0 = 1_790_000_000_000_000;
const proc = (pid: number): ProcessNode => ({ id: processId(N, pid, T0), type: 'Process', node: N, pid, start: T0, exe: '/usr/bin/python3', argv: ['python3'] });
const unit = (p: ProcessNode, fn: string, callId: string, start: number): UnitNode => ({
  id: unitId(N, p.pid, p.start, callId, start), type: 'Unit', node: N, pid: p.pid, processStart: p.start, callId, start, function: fn,
});
const onVolume = (path: string, version: number): GraphNode => ({ id: fileId('store-node', path, version, 'catalog'), type: 'File', node: 'store-node', path, version, volume: 'catalog', tier: 'durable' });
const batch = (seq: number, edges: HistoryEdge[]): Batch => edgeBatch(`${N}:1`, seq, edges);

describe('volume-flow-between-functions', () => {
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

  const stores = useRuleStores(history);

  it('raises on the read of what another function wrote, only', async () => {
    for (const s of [stores.sqlite, stores.neo]) {
      const a = ((await s.alerts({ limit: 50, offset: 0 })) as AlertNode[]).filter((x) => x.rule === 'volume-flow-between-functions');
      expect(a.map((x) => [x.subject, x.object])).toEqual([[c2.id, stash.id]]);
      expect(a[0]).toMatchObject({ severity: 'high', function: 'catalog' });
      expect(a[0]!.summary).toContain('written by invocation pay-1');
    }
  });
});
