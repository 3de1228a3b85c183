import { gpuBufferId, gpuKernelId, type EdgeAttrs, type GpuBufferNode, type GpuKernelNode, type GraphNode } from '@faasprov/model';
import type { SensorEvent } from '../sensor/events.js';
import type { GraphBuffer } from './graph-buffer.js';
import type { ObserverStats } from './metrics.js';

/** What the GPU tracker needs to know about the process that made a call. */
export interface GpuCaller {
  node: string;
  pid: number;
  /** Where its device pointers mean something (gpuDevice below). */
  device: string;
  /** The unit (or process image) that made the call. */
  subject: GraphNode;
  tenant?: string;
  /** The caller's instance's tenant could not be read (observer.ts tenantUnknown). */
  tenantUnknown?: boolean;
}

/**
 * A local GPU context belongs to one process image; a GPU server (API remoting) is shared by
 * every client, so its buffers can carry data between processes and tenants.
 */
export function gpuDevice(node: string, pid: number, imageStart: number, ordinal: number, server?: string): string {
  return server ? `gpu-server:${server}/cuda${ordinal}` : `${node}/${pid}.${imageStart}/cuda${ordinal}`;
}

/** Bytes [start, end) of a buffer (offsets), and the versions they came from (one, unless merged over the cap). */
interface Range {
  start: bigint;
  end: bigint;
  from: GpuBufferNode[];
}

interface Live {
  base: bigint;
  /** 0: unknown (found before capture): only its base address matches. */
  size: bigint;
  /** The allocation (version 0). */
  node: GpuBufferNode;
  /** A failed allocation: an attempt. The pointer it left (0x0 mostly) stands for it until the next attempt at that pointer. */
  failed: boolean;
  /** Which version each byte holds, in order, covering [0, extent). */
  ranges: Range[];
  /** The newest version, and the subject whose kernels made it (consecutive launches of one unit make one version). */
  latest: GpuBufferNode;
  kernelsOf?: string;
}

const MAX_LIVE_PER_DEVICE = 4096;
/** A launch is linked to at most this many of the device's live buffers (its arguments are opaque). */
const MAX_LAUNCH_BUFFERS = 64;
/** Ranges kept per buffer; past it the two neighbours with the smallest span merge (counted). */
const MAX_RANGES = 256;
/** Freed buffers remembered per device: memory is not cleared, a later allocation there holds their bytes. */
const MAX_FREED_PER_DEVICE = 256;
/** A buffer of unknown size reaches this far. */
const UNBOUNDED = 1n << 64n;

const extent = (l: Live) => (l.size > 0n ? l.size : UNBOUNDED);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** The versions holding bytes of [a, b), with how many bytes each holds there. */
function sources(ranges: readonly Range[], a: bigint, b: bigint): Map<GpuBufferNode, bigint> {
  const out = new Map<GpuBufferNode, bigint>();
  for (const r of ranges) {
    const n = min(r.end, b) - max(r.start, a);
    if (n > 0n) for (const f of r.from) out.set(f, (out.get(f) ?? 0n) + n);
  }
  return out;
}

/**
 * Turns CUDA API calls into GpuBuffer entities and GpuKernel activities. An allocation is
 * version 0 of its buffer; a copy into it makes a new version, WAS_GENERATED_BY the caller and
 * WAS_DERIVED_FROM the versions whose bytes it kept (none when it covered the whole buffer); a copy
 * out of it USED the versions holding the bytes it copied, at the time of the copy. So a read
 * reaches an earlier writer only while that writer's bytes are still there. A call that failed
 * (no GPU) is kept as an attempt, its rc on the edge and on the version it would have made.
 */
export class GpuTracker {
  private readonly live = new Map<string, Live[]>();
  private readonly freed = new Map<string, Live[]>();

  constructor(private readonly out: GraphBuffer, private readonly stats: ObserverStats) {}

  /** The newest live buffer covering the address: a newer failed attempt at a pointer hides an older one. */
  private find(device: string, ptr: string): Live | undefined {
    const a = BigInt(ptr);
    const list = this.live.get(device) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i]!;
      if (a === l.base || (a > l.base && a < l.base + l.size)) return l;
    }
    return undefined;
  }

  private remember(device: string, l: Live): void {
    // An attempt holds no memory: the next attempt that left the same pointer replaces it.
    const list = (this.live.get(device) ?? []).filter((o) => !(l.failed && o.failed && o.base === l.base));
    list.push(l);
    if (list.length > MAX_LIVE_PER_DEVICE) list.shift();
    this.live.set(device, list);
  }

  private track(node: GpuBufferNode, base: bigint, size: bigint, failed: boolean): Live {
    const l: Live = { base, size, node, failed, ranges: [], latest: node };
    l.ranges = [{ start: 0n, end: extent(l), from: [node] }];
    return l;
  }

  /** A buffer the call names that no allocation in capture covers: allocated before capture. */
  private unknown(c: GpuCaller, ptr: string): Live {
    this.stats.gpuUnknownBuffer++;
    const node: GpuBufferNode = { id: gpuBufferId(c.device, ptr, 0), type: 'GpuBuffer', device: c.device, ptr, allocated: 0 };
    const l = this.track(node, BigInt(ptr), 0n, false);
    this.remember(c.device, l);
    this.out.upsertNode(node);
    return l;
  }

  private attrs(rc: number, extra: EdgeAttrs = {}): EdgeAttrs | undefined {
    const a: EdgeAttrs = { ...extra };
    if (rc !== 0) a.rc = rc;
    return Object.keys(a).length > 0 ? a : undefined;
  }

  /** A new version of l made at t by c: [a, b) is what it wrote; keepAll: it may have written any byte (a kernel). */
  private version(l: Live, c: GpuCaller, t: number, rc: number, a: bigint, b: bigint, keepAll: boolean): GpuBufferNode {
    const a0 = l.node;
    const v = Math.max(t, (l.latest.version ?? a0.allocated) + 1);
    const node: GpuBufferNode = { id: gpuBufferId(a0.device, a0.ptr, a0.allocated, v), type: 'GpuBuffer', device: a0.device, ptr: a0.ptr, allocated: a0.allocated, version: v };
    if (a0.size !== undefined) node.size = a0.size;
    if (rc !== 0) node.rc = rc;
    if (c.tenant) node.tenant = c.tenant;
    else if (c.tenantUnknown) node.tenantUnknown = true;
    const end = extent(l);
    // What the write kept: every byte outside [a, b), or (a kernel) any byte at all.
    const kept = sources(l.ranges, 0n, keepAll ? end : a);
    if (!keepAll) for (const [k, n] of sources(l.ranges, b, end)) kept.set(k, (kept.get(k) ?? 0n) + n);
    // A buffer of unknown size (found before capture): how many bytes were kept is unknown too.
    for (const [from, n] of kept) this.out.addEdge('WAS_DERIVED_FROM', node, from, t, t, 1, l.size > 0n ? Number(n) : 0);
    if (keepAll) {
      l.ranges = [{ start: 0n, end, from: [node] }];
    } else {
      const next: Range[] = [];
      for (const r of l.ranges) {
        if (r.start < a) next.push({ start: r.start, end: min(r.end, a), from: r.from });
        if (r.start <= a && r.end > a) next.push({ start: a, end: b, from: [node] });
        if (r.end > b) next.push({ start: max(r.start, b), end: r.end, from: r.from });
      }
      if (a < b) l.ranges = next;
      this.cap(l);
    }
    l.latest = node;
    l.kernelsOf = undefined;
    return node;
  }

  private cap(l: Live): void {
    while (l.ranges.length > MAX_RANGES) {
      let best = 0;
      for (let i = 1; i < l.ranges.length - 1; i++) {
        if (l.ranges[i + 1]!.end - l.ranges[i]!.start < l.ranges[best + 1]!.end - l.ranges[best]!.start) best = i;
      }
      const [x, y] = [l.ranges[best]!, l.ranges[best + 1]!];
      l.ranges.splice(best, 2, { start: x.start, end: y.end, from: [...new Set([...x.from, ...y.from])] });
      this.stats.gpuRangesMerged++;
    }
  }

  /** [off, off + bytes) of l, clipped to its size. */
  private span(l: Live, ptr: string, bytes: number): [bigint, bigint] {
    const a = min(BigInt(ptr) - l.base, extent(l));
    return [a, min(a + BigInt(bytes), extent(l))];
  }

  /** A copy out of l: USED each version holding the bytes it copied (the newest version if the range is empty). */
  private read(l: Live, c: GpuCaller, t: number, ptr: string, bytes: number, attrs: EdgeAttrs): void {
    const [a, b] = this.span(l, ptr, bytes);
    const from = a < b ? sources(l.ranges, a, b) : new Map([[l.latest, BigInt(bytes)]]);
    for (const [v, n] of from) {
      const cross = v.tenant !== undefined && v.tenant !== c.tenant;
      this.out.addEdge('USED', c.subject, v, t, t, 1, Number(n), cross ? { ...attrs, crossTenant: true } : attrs);
    }
  }

  handle(e: Extract<SensorEvent, { kind: `gpu-${string}` }>, c: GpuCaller, t: number): void {
    switch (e.kind) {
      case 'gpu-alloc': {
        const node: GpuBufferNode = {
          id: gpuBufferId(c.device, e.ptr, t), type: 'GpuBuffer', device: c.device, ptr: e.ptr, allocated: t, size: e.size, api: e.api, rc: e.rc,
        };
        if (c.tenant) node.tenant = c.tenant;
        else if (c.tenantUnknown) node.tenantUnknown = true;
        const l = this.track(node, BigInt(e.ptr), BigInt(e.size), e.rc !== 0);
        this.out.addEdge('WAS_GENERATED_BY', node, c.subject, t, t, 1, 0, this.attrs(e.rc));
        if (e.rc === 0) this.remanence(c.device, l, t);
        this.remember(c.device, l);
        return;
      }
      case 'gpu-free': {
        const l = this.find(c.device, e.ptr) ?? this.unknown(c, e.ptr);
        if (e.rc === 0) {
          l.node.freed = t;
          const list = this.live.get(c.device)!;
          list.splice(list.indexOf(l), 1);
          if (!l.failed && l.size > 0n) {
            const gone = this.freed.get(c.device) ?? [];
            gone.push(l);
            if (gone.length > MAX_FREED_PER_DEVICE) gone.shift();
            this.freed.set(c.device, gone);
          }
        }
        this.out.addEdge('WAS_INVALIDATED_BY', l.node, c.subject, t, t, 1, 0, this.attrs(e.rc));
        return;
      }
      case 'gpu-copy': {
        let dst = e.copyKind === 1 || e.copyKind === 3 ? this.find(c.device, e.dst) ?? this.unknown(c, e.dst) : undefined;
        let src = e.copyKind === 2 || e.copyKind === 3 ? this.find(c.device, e.src) ?? this.unknown(c, e.src) : undefined;
        if (e.copyKind === 0 || e.copyKind === 4) {
          // Unified addressing: the runtime tells by the address; so do we, from the allocations seen.
          dst = this.find(c.device, e.dst);
          src = this.find(c.device, e.src);
          if (!dst && !src) this.stats.gpuUnknownBuffer++;
        }
        const kind = { copyKind: e.copyKind };
        // Read first: a copy within one buffer reads what was there before it writes.
        if (src) this.read(src, c, t, e.src, e.bytes, this.attrs(e.rc, kind)!);
        if (dst) {
          const [a, b] = this.span(dst, e.dst, e.bytes);
          const v = this.version(dst, c, t, e.rc, a, b, false);
          this.out.addEdge('WAS_GENERATED_BY', v, c.subject, t, t, 1, e.bytes, this.attrs(e.rc, kind));
        }
        return;
      }
      case 'gpu-launch': {
        const k: GpuKernelNode = {
          id: gpuKernelId(c.node, c.pid, t, e.func), type: 'GpuKernel', node: c.node, pid: c.pid, device: c.device,
          func: e.func, api: e.api, start: t, rc: e.rc,
        };
        if (e.symbol) k.symbol = e.symbol.slice(0, 4096);
        if (c.tenant) k.tenant = c.tenant;
        this.out.addEdge('WAS_INFORMED_BY', k, c.subject, t, t, 1, 0);
        if (e.rc !== 0) return;
        // Kernel arguments are opaque: the kernel may read and write any buffer live on its device.
        // Launches of one unit in a row make one version of each buffer, generated by each of them.
        for (const l of (this.live.get(c.device) ?? []).filter((x) => !x.failed).slice(-MAX_LAUNCH_BUFFERS)) {
          for (const v of sources(l.ranges, 0n, extent(l)).keys()) this.out.addEdge('USED', k, v, t, t, 1, 0);
          const v = l.kernelsOf === c.subject.id ? l.latest : this.version(l, c, t, 0, 0n, extent(l), true);
          l.kernelsOf = c.subject.id;
          this.out.addEdge('WAS_GENERATED_BY', v, k, t, t, 1, 0);
        }
        return;
      }
      case 'gpu-device':
        return;
    }
  }

  /**
   * Device memory is not cleared between allocations: a new buffer over memory freed earlier on
   * its device holds those bytes until written. Its allocation WAS_DERIVED_FROM the versions that
   * held them (marked inferred: the driver may have cleared them), and its ranges keep them.
   */
  private remanence(device: string, l: Live, t: number): void {
    const gone = this.freed.get(device);
    if (!gone || l.size === 0n) return;
    const held: Range[] = [];
    for (const f of gone) {
      const a = max(f.base, l.base);
      const b = min(f.base + f.size, l.base + l.size);
      if (a >= b) continue;
      for (const r of f.ranges) {
        const s = max(r.start + f.base, a);
        const e = min(r.end + f.base, b);
        if (s < e) held.push({ start: s - l.base, end: e - l.base, from: r.from });
      }
    }
    if (held.length === 0) return;
    // Newer frees are later in the list: where two overlap, the later one's bytes are what is there.
    for (const h of held) {
      const next: Range[] = [];
      for (const r of l.ranges) {
        if (r.start < h.start) next.push({ start: r.start, end: min(r.end, h.start), from: r.from });
        if (r.start <= h.start && r.end > h.start) next.push(h);
        if (r.end > h.end) next.push({ start: max(r.start, h.end), end: r.end, from: r.from });
      }
      l.ranges = next;
    }
    this.cap(l);
    for (const [from, n] of sources(l.ranges, 0n, l.size)) if (from !== l.node) this.out.addEdge('WAS_DERIVED_FROM', l.node, from, t, t, 1, Number(n), { inferred: true });
    // Reused memory is no longer "freed" memory for a later allocation: this buffer holds it now.
    this.freed.set(device, gone.filter((f) => f.base + f.size <= l.base || f.base >= l.base + l.size));
  }
}
