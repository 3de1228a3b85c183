/**
 * GPU buffer versions end to end, from the agent's tracker through the collector's rules to the
 * attack view an investigator opens from the alert: a read reaches the writers whose bytes it got,
 * not earlier writers whose bytes were overwritten, nor whoever allocated the buffer.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TENANTS, invocationId, unitId, type AlertNode, type GpuBufferNode, type GraphNode, type InvocationNode, type UnitNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { attackView, trace } from '@faasprov/graph-service';
import { GpuTracker, gpuDevice } from '../agent/src/observer/gpu.js';
import { GraphBuffer } from '../agent/src/observer/graph-buffer.js';
import { ObserverStats } from '../agent/src/observer/metrics.js';
import type { SensorEvent } from '../agent/src/sensor/events.js';
import { tempDir } from './helpers.js';

const N = 'node-v';
const T0 = 1_790_000_000_000_000;
const PID = 501;
const device = gpuDevice(N, PID, T0, 0);
const PTR = '0x7f3a00000000';
type Gpu = Extract<SensorEvent, { kind: `gpu-${string}` }>;
const who = { pid: PID, tid: PID };
/** The shop's photos without a GPU: every call fails (35), the pointer stays 0x0. */
const RC = 35;

/** One photos invocation's CUDA calls: [call, bytes] with the staging buffer's pointer. */
type Call = ['alloc' | 'h2d' | 'd2h', number];

/** Runs invocations (call id → calls) one after another through the agent's tracker into a store with the shipped rules. */
async function scenario(store: SqliteGraphStore, ptr: string, rc: number, invocations: [string, Call[]][]): Promise<Map<string, UnitNode>> {
  const out = new GraphBuffer(false);
  const g = new GpuTracker(out, new ObserverStats());
  const units = new Map<string, UnitNode>();
  let t = T0 + 100;
  for (const [callId, calls] of invocations) {
    const start = t++;
    const u: UnitNode = { id: unitId(N, PID, T0, callId, start), type: 'Unit', node: N, pid: PID, processStart: T0, callId, start, function: 'photos' };
    const inv: InvocationNode = { id: invocationId(callId, undefined), type: 'Invocation', callId, start, source: 'shim' };
    out.addEdge('PART_OF', u, inv, start, start, 1, 0);
    units.set(callId, u);
    for (const [kind, bytes] of calls) {
      const e: Gpu = kind === 'alloc'
        ? { kind: 'gpu-alloc', ts: 0n, ...who, api: 'cudaMalloc', rc, ptr, size: bytes }
        : { kind: 'gpu-copy', ts: 0n, ...who, api: 'cudaMemcpy', rc, dst: kind === 'h2d' ? ptr : '0x5600', src: kind === 'h2d' ? '0x5600' : ptr, bytes, copyKind: kind === 'h2d' ? 1 : 2 };
      g.handle(e, { node: N, pid: PID, device, subject: u }, t++);
    }
    // One batch per invocation, as the agent cuts them over time.
    const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
    expect((await applyBatch(store, out.cut(`${N}:a`, units.size - 1), undefined, rules)).status).toBe('stored');
  }
  return units;
}

/** The attack view from the GPU alert about an invocation, as the dashboard opens it. */
async function viewFromAlert(store: SqliteGraphStore, reader: UnitNode, writers = ['customer']) {
  // One alert per version read that another invocation wrote, naming it; the view opens from the first.
  const alerts = ((await store.alerts({ limit: 100, offset: 0 })) as AlertNode[]).filter((a) => a.rule === 'gpu-buffer-cross-read').sort((a, b) => a.summary.localeCompare(b.summary));
  expect(alerts.map((a) => [a.subject, /written by invocation (\S+)/.exec(a.summary)?.[1]])).toEqual(writers.sort().map((w) => [reader.id, w]));
  const t = await trace(store, alerts[0]!.id, { direction: 'backward', scope: ALL_TENANTS });
  const v = await attackView(store, t, ALL_TENANTS);
  const shown = (n: GraphNode) => v.nodes.some((x) => x.id === n.id);
  const callIds = new Set(v.nodes.flatMap((n) => (n.type === 'Unit' || n.type === 'Invocation' ? [n.callId] : [])));
  return { alert: alerts[0]!, view: v, full: t, shown, callIds };
}

describe('GPU buffer versions: what the attack view from a cross-read alert holds', () => {
  const dirs: string[] = [];
  const open = () => {
    const d = tempDir('fp-gpu-versions-');
    dirs.push(d);
    return new SqliteGraphStore(join(d, 's.db'));
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('shop attack d without a GPU: the customer and the attacker, the version the customer left and the allocation; not the benign thumbnails before (nor the one that allocated)', async () => {
    const store = open();
    try {
      const u = await scenario(store, '0x0', RC, [
        ['benign-1', [['alloc', 1 << 20], ['h2d', 64], ['d2h', 64]]],
        ['benign-2', [['h2d', 64], ['d2h', 64]]],
        ['customer', [['h2d', 256], ['d2h', 256]]],
        ['attacker', [['d2h', 65536]]],
      ]);
      const { alert, view, full, shown, callIds } = await viewFromAlert(store, u.get('attacker')!);
      expect(alert.summary).toBe(`invocation attacker (pid ${PID}) tried to read (CUDA error ${RC}) GPU buffer 0x0 written by invocation customer (pid ${PID})`);
      expect([...callIds].sort()).toEqual(['attacker', 'customer']);
      const buffers = view.nodes.filter((n): n is GpuBufferNode => n.type === 'GpuBuffer');
      // The customer's version (the call failed: its rc says so) and the allocation (an attempt, rc 35), which holds the other 65,280 bytes read.
      expect(buffers.map((b) => [b.version ? 'version' : 'allocation', b.rc]).sort()).toEqual([['allocation', RC], ['version', RC]]);
      expect(view.edges.filter((e) => e.type === 'USED' && e.from === u.get('attacker')!.id).map((e) => [e.bytes, e.attrs?.rc]).sort()).toEqual([[256, RC], [65280, RC]]);
      // The story says whose bytes each part was, and that the calls failed.
      expect(view.steps.filter((s) => s.startsWith('invocation attacker copied'))).toEqual([
        'invocation attacker copied 256 bytes out of GPU buffer 0x0, written by invocation customer (the call failed: CUDA error 35)',
        'invocation attacker copied 65280 bytes out of GPU buffer 0x0 as allocated (the call failed: CUDA error 35)',
      ]);
      // The full trace still has the allocation's maker (provenance); no data path reaches it.
      expect(full.nodes.some((n) => n.id === u.get('benign-1')!.id)).toBe(true);
      expect(shown(u.get('benign-1')!)).toBe(false);
      expect(shown(u.get('benign-2')!)).toBe(false);
      expect(view.pruned).toContain(u.get('benign-1')!.id);
    } finally {
      await store.close();
    }
  });

  it('with a GPU: a customer\'s copy that covered the whole buffer replaced a benign writer\'s data; the view from the attacker\'s read has only the customer', async () => {
    const store = open();
    try {
      const u = await scenario(store, PTR, 0, [
        ['benign', [['alloc', 4096], ['h2d', 4096], ['d2h', 4096]]],
        ['customer', [['h2d', 4096]]],
        ['attacker', [['d2h', 4096]]],
      ]);
      const { callIds, view } = await viewFromAlert(store, u.get('attacker')!);
      expect([...callIds].sort()).toEqual(['attacker', 'customer']);
      expect(view.nodes.filter((n) => n.type === 'GpuBuffer').map((n) => (n as GpuBufferNode).version !== undefined)).toEqual([true]);
    } finally {
      await store.close();
    }
  });

  it('an attacker who wrote first and whose bytes the customer\'s partial copy kept is in the view, through the version it derived from', async () => {
    const store = open();
    try {
      const u = await scenario(store, PTR, 0, [
        ['setup', [['alloc', 4096]]],
        ['planter', [['h2d', 4096]]],
        ['customer', [['h2d', 256], ['d2h', 256]]],
        ['reader', [['d2h', 4096]]],
      ]);
      const { callIds, view } = await viewFromAlert(store, u.get('reader')!, ['customer', 'planter']);
      expect([...callIds].sort()).toEqual(['customer', 'planter', 'reader']);
      const versions = view.nodes.filter((n): n is GpuBufferNode => n.type === 'GpuBuffer' && n.version !== undefined);
      expect(versions).toHaveLength(2);
      const [planted, customers] = versions.sort((a, b) => a.version! - b.version!);
      expect(view.edges.some((e) => e.type === 'WAS_DERIVED_FROM' && e.from === customers!.id && e.to === planted!.id)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
