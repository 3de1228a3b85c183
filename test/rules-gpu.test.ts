/**
 * gpu-buffer-cross-read on one process's device (a warm instance's staging buffer): a read returns
 * another invocation's data unless the reader uploaded at least as much after every other write.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { edgeId, gpuBufferId, instanceId, invocationId, processId, unitId, type AlertNode, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode, type UnitNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { tempDir } from './helpers.js';

const N = 'node-g';
const T0 = 1_790_000_000_000_000;
const instance = instanceId(N, 300, T0);
const proc: GraphNode = { id: processId(N, 301, T0 + 1), type: 'Process', node: N, pid: 301, start: T0 + 1, exe: '/usr/bin/python3', argv: ['python3'] };
const unit = (callId: string, start: number): UnitNode => ({ id: unitId(N, 301, T0 + 1, callId, start), type: 'Unit', node: N, pid: 301, processStart: T0 + 1, callId, start, instance, function: 'photos' });
const device = `${N}/301.${T0 + 1}/cuda0`;
const buf: GraphNode = { id: gpuBufferId(device, '0x0', T0 + 10), type: 'GpuBuffer', device, ptr: '0x0', allocated: T0 + 10, size: 1048576, api: 'cudaMalloc', rc: 35 };

function batch(seq: number, edges: [EdgeType, GraphNode, GraphNode, number, number, EdgeAttrs?][]): Batch {
  const nodes = new Map<string, GraphNode>([[proc.id, proc]]);
  const es: GraphEdge[] = edges.map(([type, from, to, t, bytes, attrs]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes, ...(attrs ? { attrs } : {}) };
  });
  for (const n of [...nodes.values()]) {
    if (n.type !== 'Unit') continue;
    const inv: GraphNode = { id: invocationId(n.callId, undefined), type: 'Invocation', callId: n.callId, start: n.start, source: 'shim' };
    nodes.set(inv.id, inv);
    es.push({ id: edgeId('PART_OF', n.id, inv.id), type: 'PART_OF', from: n.id, to: inv.id, firstTime: n.start, lastTime: n.start, count: 1, bytes: 0 });
  }
  return { agent: `${N}:1`, seq, nodes: [...nodes.values()], edges: es };
}

describe('gpu-buffer-cross-read on a local device', () => {
  const dir = tempDir('fp-rules-gpu-');
  const store = new SqliteGraphStore(join(dir, 's.db'));
  const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no alert for a thumbnail read back after its own upload; an alert for a read with no upload and for an over-read, naming the last other writer', async () => {
    const h2d = { copyKind: 1, rc: 35 };
    const d2h = { copyKind: 2, rc: 35 };
    const [first, second, customer, attacker, overRead] = [unit('first', T0 + 9), unit('second', T0 + 20), unit('customer', T0 + 30), unit('attacker', T0 + 40), unit('over-read', T0 + 50)];
    const batches = [
      batch(0, [['WAS_GENERATED_BY', buf, first, T0 + 10, 0, { rc: 35 }], ['WAS_GENERATED_BY', buf, first, T0 + 11, 64, h2d], ['USED', first, buf, T0 + 12, 64, d2h]]),
      batch(1, [['WAS_GENERATED_BY', buf, second, T0 + 21, 64, h2d], ['USED', second, buf, T0 + 22, 64, d2h]]),
      batch(2, [['WAS_GENERATED_BY', buf, customer, T0 + 31, 256, h2d], ['USED', customer, buf, T0 + 32, 256, d2h]]),
      batch(3, [['USED', attacker, buf, T0 + 41, 65536, d2h]]),
      batch(4, [['WAS_GENERATED_BY', buf, overRead, T0 + 51, 8, h2d], ['USED', overRead, buf, T0 + 52, 65536, d2h]]),
    ];
    // Edges of one batch with one id collapse, as the agent sends them.
    batches[0]!.edges.splice(0, 2, { ...batches[0]!.edges[0]!, lastTime: T0 + 11, bytes: 64, attrs: h2d });
    for (const b of batches) expect((await applyBatch(store, b, undefined, rules)).status).toBe('stored');
    const alerts = (await store.alerts({ limit: 100, offset: 0 })) as AlertNode[];
    const gpu = alerts.filter((a) => a.rule === 'gpu-buffer-cross-read');
    expect(gpu.map((a) => a.subject).sort()).toEqual([attacker.id, overRead.id].sort());
    expect(gpu.find((a) => a.subject === attacker.id)!.summary).toBe('invocation attacker (pid 301) tried to read (CUDA error 35) GPU buffer 0x0 written by invocation customer (pid 301)');
    expect(gpu.find((a) => a.subject === overRead.id)!.summary).toContain('written by invocation customer (pid 301)');
  });
});
