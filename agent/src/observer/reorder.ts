import type { SensorEvent } from '../sensor/events.js';

/**
 * Records of different CPUs reach the agent out of time order: bpftrace 0.23 writes them into one
 * ring buffer in the order they are reserved, each with a time read before that (0.17 drained one
 * perf buffer per CPU).
 * Events are held for a short window and released in kernel-time order (stable for ties).
 */
export class ReorderBuffer {
  private pending: SensorEvent[] = [];
  constructor(private readonly windowNs: bigint, private readonly release: (e: SensorEvent) => void) {}

  push(e: SensorEvent): void {
    this.pending.push(e);
  }

  get size(): number {
    return this.pending.length;
  }

  /** Releases every event older than now - window (now: kernel monotonic ns). */
  drain(nowNs: bigint): void {
    const limit = nowNs - this.windowNs;
    this.releaseWhere((e) => e.ts <= limit);
  }

  flushAll(): void {
    this.releaseWhere(() => true);
  }

  private releaseWhere(ok: (e: SensorEvent) => boolean): void {
    if (this.pending.length === 0) return;
    // Array sort is stable, so ties keep their arrival order; lines arrive nearly sorted.
    this.pending.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    let n = 0;
    while (n < this.pending.length && ok(this.pending[n]!)) n++;
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    for (const e of out) this.release(e);
  }
}
