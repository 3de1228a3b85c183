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
}

/**
 * A local GPU context belongs to one process image; a GPU server (API remoting) is shared by
 * every client, so its buffers can carry data between processes and tenants.
 */
export function gpuDevice(node: string, pid: number, imageStart: number, ordinal: number, server?: string): string {
  return server ? `gpu-server:${server}/cuda${ordinal}` : `${node}/${pid}.${imageStart}/cuda${ordinal}`;
}

interface Live {
  base: bigint;
  /** 0: unknown (found before capture): only its base address matches. */
  size: bigint;
  node: GpuBufferNode;
}

const MAX_LIVE_PER_DEVICE = 4096;
/** A launch is linked to at most this many of the device's live buffers (its arguments are opaque). */
const MAX_LAUNCH_BUFFERS = 64;

/** Turns CUDA API calls into GpuBuffer entities and GpuKernel activities. */
export class GpuTracker {
  private readonly live = new Map<string, Live[]>();

  constructor(private readonly out: GraphBuffer, private readonly stats: ObserverStats) {}

  private find(device: string, ptr: string): Live | undefined {
    const a = BigInt(ptr);
    for (const l of this.live.get(device) ?? []) if (a === l.base || (a > l.base && a < l.base + l.size)) return l;
    return undefined;
  }

  private remember(device: string, l: Live): void {
    const list = this.live.get(device) ?? [];
    list.push(l);
    if (list.length > MAX_LIVE_PER_DEVICE) list.shift();
    this.live.set(device, list);
  }

  /** A buffer the call names that no allocation in capture covers: allocated before capture. */
  private unknown(c: GpuCaller, ptr: string): Live {
    this.stats.gpuUnknownBuffer++;
    const node: GpuBufferNode = { id: gpuBufferId(c.device, ptr, 0), type: 'GpuBuffer', device: c.device, ptr, allocated: 0 };
    const l: Live = { base: BigInt(ptr), size: 0n, node };
    this.remember(c.device, l);
    this.out.upsertNode(node);
    return l;
  }

  private attrs(rc: number, extra: EdgeAttrs = {}): EdgeAttrs | undefined {
    const a: EdgeAttrs = { ...extra };
    if (rc !== 0) a.rc = rc;
    return Object.keys(a).length > 0 ? a : undefined;
  }

  handle(e: Extract<SensorEvent, { kind: `gpu-${string}` }>, c: GpuCaller, t: number): void {
    switch (e.kind) {
      case 'gpu-alloc': {
        const node: GpuBufferNode = {
          id: gpuBufferId(c.device, e.ptr, t), type: 'GpuBuffer', device: c.device, ptr: e.ptr, allocated: t, size: e.size, api: e.api, rc: e.rc,
        };
        if (c.tenant) node.tenant = c.tenant;
        this.remember(c.device, { base: BigInt(e.ptr), size: BigInt(e.size), node });
        this.out.addEdge('WAS_GENERATED_BY', node, c.subject, t, t, 1, 0, this.attrs(e.rc));
        return;
      }
      case 'gpu-free': {
        const l = this.find(c.device, e.ptr) ?? this.unknown(c, e.ptr);
        if (e.rc === 0) {
          l.node.freed = t;
          const list = this.live.get(c.device)!;
          list.splice(list.indexOf(l), 1);
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
        if (src) {
          const cross = src.node.tenant !== undefined && src.node.tenant !== c.tenant;
          this.out.addEdge('USED', c.subject, src.node, t, t, 1, e.bytes, this.attrs(e.rc, cross ? { ...kind, crossTenant: true } : kind));
        }
        if (dst) this.out.addEdge('WAS_GENERATED_BY', dst.node, c.subject, t, t, 1, e.bytes, this.attrs(e.rc, kind));
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
        for (const l of (this.live.get(c.device) ?? []).slice(-MAX_LAUNCH_BUFFERS)) {
          this.out.addEdge('USED', k, l.node, t, t, 1, 0);
          this.out.addEdge('WAS_GENERATED_BY', l.node, k, t, t, 1, 0);
        }
        return;
      }
      case 'gpu-device':
        return;
    }
  }
}
