import { describe, expect, it } from '@jest/globals';
import { parseBatch, unitId, type GpuBufferNode, type GraphEdge, type GraphNode, type UnitNode } from '@faasprov/model';
import type { SensorEvent } from '../sensor/events.js';
import { GraphBuffer } from './graph-buffer.js';
import { ObserverStats } from './metrics.js';
import { GpuTracker, gpuDevice, type GpuCaller } from './gpu.js';

const N = 'n1';
const T0 = 1_790_000_000_000_000;
const device = gpuDevice(N, 40, T0, 0);
const unit = (callId: string): UnitNode => ({ id: unitId(N, 40, T0, callId, T0 + 1), type: 'Unit', node: N, pid: 40, processStart: T0, callId, start: T0 + 1 });
const caller = (callId: string, tenant?: string): GpuCaller => ({ node: N, pid: 40, device, subject: unit(callId), ...(tenant ? { tenant } : {}) });
const who = { pid: 40, tid: 40 };
type Gpu = Extract<SensorEvent, { kind: `gpu-${string}` }>;
const alloc = (ptr: string, size: number, rc = 0): Gpu => ({ kind: 'gpu-alloc', ts: 0n, ...who, api: 'cudaMalloc', rc, ptr, size });
const h2d = (dst: string, bytes: number, rc = 0): Gpu => ({ kind: 'gpu-copy', ts: 0n, ...who, api: 'cudaMemcpy', rc, dst, src: '0x5500', bytes, copyKind: 1 });
const d2h = (src: string, bytes: number, rc = 0): Gpu => ({ kind: 'gpu-copy', ts: 0n, ...who, api: 'cudaMemcpy', rc, dst: '0x5500', src, bytes, copyKind: 2 });

/** Runs calls (event, caller id) through a tracker, one µs apart; the graph it sent. */
function run(calls: [Gpu, string, string?][]): { nodes: Map<string, GraphNode>; edges: GraphEdge[]; stats: ObserverStats } {
  const out = new GraphBuffer(false);
  const stats = new ObserverStats();
  const g = new GpuTracker(out, stats);
  calls.forEach(([e, callId, tenant], i) => g.handle(e, caller(callId, tenant), T0 + 10 + i));
  const b = parseBatch(JSON.parse(JSON.stringify(out.cut(`${N}:a`, 0))));
  return { nodes: new Map(b.nodes.map((n) => [n.id, n])), edges: b.edges, stats };
}

/** The buffer versions a unit's copies wrote, and the versions a unit's reads used, with their bytes. */
function views(g: ReturnType<typeof run>) {
  const buf = (id: string) => g.nodes.get(id) as GpuBufferNode;
  const wrote = (callId: string) => g.edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.to === unit(callId).id && buf(e.from).version).map((e) => buf(e.from));
  const read = (callId: string) => g.edges.filter((e) => e.type === 'USED' && e.from === unit(callId).id).map((e) => [buf(e.to), e.bytes] as const);
  const derived = (v: GpuBufferNode) => g.edges.filter((e) => e.type === 'WAS_DERIVED_FROM' && e.from === v.id).map((e) => buf(e.to));
  const allocation = [...g.nodes.values()].find((n): n is GpuBufferNode => n.type === 'GpuBuffer' && !n.version)!;
  return { wrote, read, derived, allocation };
}

describe('GPU buffer versions', () => {
  it('a copy covering the whole buffer starts a new version; a later read uses only it', () => {
    const g = run([[alloc('0x7f0000000000', 4096), 'a'], [h2d('0x7f0000000000', 4096), 'a'], [h2d('0x7f0000000000', 4096), 'b'], [d2h('0x7f0000000000', 4096), 'r']]);
    const v = views(g);
    const [va] = v.wrote('a');
    const [vb] = v.wrote('b');
    expect(vb!.version).toBeGreaterThan(va!.version!);
    expect(v.derived(va!)).toEqual([]);
    expect(v.derived(vb!)).toEqual([]);
    expect(v.read('r')).toEqual([[vb, 4096]]);
    // The version is a node of the same buffer (pointer, size, allocation time), not an allocation.
    expect(vb).toMatchObject({ type: 'GpuBuffer', device, ptr: '0x7f0000000000', size: 4096, allocated: v.allocation.allocated });
    expect(vb!.api).toBeUndefined();
  });

  it('a partial copy derives its version from the versions whose bytes it kept, not from those it overwrote', () => {
    // a writes [0, 64); b writes [0, 256) over it; the rest of the 1 MiB buffer is as allocated.
    const g = run([[alloc('0x7f0000000000', 1 << 20), 'a'], [h2d('0x7f0000000000', 64), 'a'], [h2d('0x7f0000000000', 256), 'b'], [d2h('0x7f0000000000', 65536), 'r']]);
    const v = views(g);
    const [va] = v.wrote('a');
    const [vb] = v.wrote('b');
    expect(v.derived(va!)).toEqual([v.allocation]);
    expect(v.derived(vb!)).toEqual([v.allocation]);
    expect(g.edges.find((e) => e.type === 'WAS_DERIVED_FROM' && e.from === vb!.id)!.bytes).toBe((1 << 20) - 256);
    // The read got b's 256 bytes and 65,280 bytes as allocated: none of a's.
    expect(v.read('r')).toEqual([[vb, 256], [v.allocation, 65536 - 256]]);
  });

  it('a read reaches an earlier writer whose bytes are still there (an attacker who wrote first)', () => {
    // The attacker fills [0, 1024); the customer writes [0, 256); a read of 1024 bytes returns both.
    const g = run([[alloc('0x7f0000000000', 1024), 'setup'], [h2d('0x7f0000000000', 1024), 'attacker'], [h2d('0x7f0000000000', 256), 'customer'], [d2h('0x7f0000000000', 1024), 'r']]);
    const v = views(g);
    const [atk] = v.wrote('attacker');
    const [cust] = v.wrote('customer');
    expect(v.derived(atk!)).toEqual([]);
    expect(v.derived(cust!)).toEqual([atk]);
    expect(v.read('r')).toEqual([[cust, 256], [atk, 768]]);
  });

  it('offsets count: a copy into the middle keeps both ends, a read of one end uses only what is there', () => {
    const base = 0x7f0000000000;
    const at = (off: number) => `0x${(base + off).toString(16)}`;
    const g = run([[alloc(at(0), 1000), 'a'], [h2d(at(0), 1000), 'a'], [h2d(at(400), 200), 'b'], [d2h(at(0), 100), 'r1'], [d2h(at(450), 100), 'r2'], [d2h(at(550), 100), 'r3']]);
    const v = views(g);
    const [va] = v.wrote('a');
    const [vb] = v.wrote('b');
    expect(v.derived(vb!)).toEqual([va]);
    expect(g.edges.find((e) => e.type === 'WAS_DERIVED_FROM' && e.from === vb!.id)!.bytes).toBe(800);
    expect(v.read('r1')).toEqual([[va, 100]]);
    expect(v.read('r2')).toEqual([[vb, 100]]);
    expect(v.read('r3')).toEqual([[vb, 50], [va, 50]]);
  });

  it('a read by another tenant of a version that tenant wrote is marked crossTenant; of its own version it is not', () => {
    const g = run([[alloc('0x10000', 64), 'a', 'team-a'], [h2d('0x10000', 64), 'a', 'team-a'], [d2h('0x10000', 64), 'b', 'team-b'], [h2d('0x10000', 64), 'b', 'team-b'], [d2h('0x10000', 64), 'b2', 'team-b']]);
    const used = g.edges.filter((e) => e.type === 'USED');
    expect(used.map((e) => [(g.nodes.get(e.to) as GpuBufferNode).tenant, e.attrs?.crossTenant])).toEqual([['team-a', true], ['team-b', undefined]]);
  });

  it('kernel launches: one version per buffer for a unit\'s launches in a row, derived from everything the buffer held', () => {
    const launch: Gpu = { kind: 'gpu-launch', ts: 0n, ...who, api: 'cudaLaunchKernel', rc: 0, func: '0x401000' };
    const g = run([[alloc('0x10000', 64), 'a'], [h2d('0x10000', 32), 'a'], [launch, 'a'], [launch, 'a'], [d2h('0x10000', 64), 'r']]);
    const bufs = [...g.nodes.values()].filter((n): n is GpuBufferNode => n.type === 'GpuBuffer' && !!n.version);
    expect(bufs).toHaveLength(2);
    const kernels = [...g.nodes.values()].filter((n) => n.type === 'GpuKernel');
    expect(kernels).toHaveLength(2);
    const byKernel = bufs.find((b) => g.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.from === b.id && kernels.some((k) => k.id === e.to)))!;
    expect(g.edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.from === byKernel.id).map((e) => e.to).sort()).toEqual(kernels.map((k) => k.id).sort());
    const v = views(g);
    expect(v.derived(byKernel).map((n) => n.id).sort()).toEqual([v.allocation.id, v.wrote('a')[0]!.id].sort());
    expect(v.read('r')).toEqual([[byKernel, 64]]);
  });
});

describe('failed CUDA calls (no GPU)', () => {
  it('each invocation\'s failed allocation is its own attempt: the pointer it left (0x0) is not one buffer shared by all', () => {
    const g = run([
      [alloc('0x0', 4096, 35), 'a'], [h2d('0x0', 64, 35), 'a'], [d2h('0x0', 64, 35), 'a'],
      [alloc('0x0', 4096, 35), 'b'], [h2d('0x0', 64, 35), 'b'], [d2h('0x0', 64, 35), 'b'],
    ]);
    const allocations = [...g.nodes.values()].filter((n): n is GpuBufferNode => n.type === 'GpuBuffer' && !n.version);
    expect(allocations.map((n) => n.rc)).toEqual([35, 35]);
    const mine = (callId: string) => allocations.find((n) => g.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.from === n.id && e.to === unit(callId).id))!;
    const v = views(g);
    for (const callId of ['a', 'b']) {
      const [w] = v.wrote(callId);
      // The attempted copy is on this invocation's attempt, says it failed, and its read back uses it alone.
      expect(w).toMatchObject({ allocated: mine(callId).allocated, rc: 35 });
      expect(g.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.from === w!.id)!.attrs).toEqual({ copyKind: 1, rc: 35 });
      expect(v.read(callId)).toEqual([[w, 64]]);
      expect(g.edges.find((e) => e.type === 'USED' && e.from === unit(callId).id)!.attrs).toEqual({ copyKind: 2, rc: 35 });
    }
    expect(g.stats.gpuUnknownBuffer).toBe(0);
  });

  it('one failed allocation kept by an instance (the shop\'s staging buffer) is what its later calls name: attempts along the same path', () => {
    const g = run([[alloc('0x0', 1 << 20, 35), 'first'], [h2d('0x0', 64, 35), 'first'], [h2d('0x0', 256, 35), 'customer'], [d2h('0x0', 65536, 35), 'attacker']]);
    const v = views(g);
    const [cust] = v.wrote('customer');
    expect(v.allocation.rc).toBe(35);
    expect(v.read('attacker')).toEqual([[cust, 256], [v.allocation, 65280]]);
  });
});

describe('buffers allocated before capture', () => {
  it('a copy into one (size unknown) is a version derived from what was there, and a read of it uses that version', () => {
    const g = run([[h2d('0x20000', 64), 'a'], [d2h('0x20000', 80), 'b']]);
    const v = views(g);
    const [va] = v.wrote('a');
    expect(v.allocation).toMatchObject({ ptr: '0x20000', allocated: 0 });
    expect(g.edges.find((e) => e.type === 'WAS_DERIVED_FROM' && e.from === va!.id)).toMatchObject({ to: v.allocation.id, bytes: 0 });
    // Past the 64 bytes a wrote: what was there before capture.
    expect(v.read('b')).toEqual([[va, 64], [v.allocation, 16]]);
    expect(g.stats.gpuUnknownBuffer).toBe(1);
  });
});

describe('freed device memory', () => {
  it('a buffer allocated over memory freed earlier derives (inferred) from the versions that held it, until written', () => {
    const free: Gpu = { kind: 'gpu-free', ts: 0n, ...who, api: 'cudaFree', rc: 0, ptr: '0x10000' };
    const g = run([[alloc('0x10000', 128), 'a'], [h2d('0x10000', 128), 'a'], [free, 'a'], [alloc('0x10040', 128), 'b'], [d2h('0x10040', 128), 'b']]);
    const v = views(g);
    const [va] = v.wrote('a');
    const second = [...g.nodes.values()].find((n): n is GpuBufferNode => n.type === 'GpuBuffer' && n.ptr === '0x10040' && !n.version)!;
    const rem = g.edges.find((e) => e.type === 'WAS_DERIVED_FROM' && e.from === second.id)!;
    expect(rem).toMatchObject({ to: va!.id, bytes: 64, attrs: { inferred: true } });
    // b's read: the first 64 bytes still hold a's data, the rest is as allocated.
    expect(v.read('b')).toEqual([[va, 64], [second, 64]]);
  });
});
