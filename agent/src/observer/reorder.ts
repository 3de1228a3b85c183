import type { SensorEvent } from '../sensor/events.js';

/**
 * bpftrace drains one perf buffer per CPU, so lines from different CPUs arrive out of order.
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
    const sorted = this.pending
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.ts < b.e.ts ? -1 : a.e.ts > b.e.ts ? 1 : a.i - b.i));
    const keep: SensorEvent[] = [];
    let blocked = false;
    for (const { e } of sorted) {
      if (!blocked && ok(e)) this.release(e);
      else {
        blocked = true;
        keep.push(e);
      }
    }
    this.pending = keep;
  }
}
