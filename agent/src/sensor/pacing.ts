import { readFileSync } from 'node:fs';

/**
 * Output pacing. bpftrace 0.23 writes every printf into its ring buffer with flags 0, and the
 * kernel then wakes bpftrace for each record that finds it caught up: on a quiet node, one
 * wake-up, two context switches and a pass of bpftrace's poll loop (10-17 µs of its CPU, against
 * 1-2 µs per event in a burst) for nearly every event, on the CPUs the functions run on. A
 * bpftrace stopped (SIGSTOP) between short runs is woken once per period and drains the period's
 * records in one pass; while it is stopped the kernel queues no wake-up at all (the consumer is
 * behind), so the function's syscall pays only the record's copy. Nothing is dropped: records wait
 * in the ring buffer (16 MiB). It is paused only when found idle (waiting in epoll) and its output
 * was light in the last period, so a busy node drains at full speed.
 */
/**
 * The default period. Each period costs the agent two wake-ups (about 0.1 ms of CPU each on the
 * benchmark machine), so it is no shorter than it need be; records wait at most about a period
 * plus the 25 ms flush, uniformly (one ring buffer, in order), which the reorder window absorbs.
 * Nor is it longer: 100 and 200 ms saved the pacer's wake-ups but not measurably the agent's and
 * bpftrace's CPU together, nor the watched function's latency (BENCHMARKS.md, 2026-12-01
 * evening), and a watched root's /proc facts are read only once its exec is seen (a root gone by
 * then: factsUnread).
 */
export const DEFAULT_SENSOR_PACE_MS = 50;

export interface PacingOptions {
  /** How often a paused bpftrace is let run (ms). */
  periodMs: number;
  /** How long after being let run it is checked for idleness (ms). */
  runMs?: number;
  /** Output (bytes) in one period above which it is not paused (a busy node). */
  busyBytes?: number;
  /** Output (bytes) in one read that starts pacing; below it (an idle node, whose bpftrace only flushes) none runs. */
  wakeBytes?: number;
  /** Periods with less output than this many bytes each... */
  quietBytes?: number;
  /** ...after which pacing stops until output grows again. */
  quietPeriods?: number;
}

export interface PacingStats {
  /** Periods bpftrace was paused in. */
  pauses: number;
  /** Checks that found it working (or its output heavy) and left it running. */
  busy: number;
  /** Times pacing started (output grew) after a quiet spell. */
  starts: number;
}

/** The kernel function the task's main thread sleeps in ("0" while running), from /proc. */
export function wchanOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Pacing runs only while output flows: on a quiet node its own wake-ups would cost more than the
 * events' (output() starts it, a quiet spell stops it).
 */
export class OutputPacer {
  readonly stats: PacingStats = { pauses: 0, busy: 0, starts: 0 };
  private paused = false;
  private done = false;
  private active = false;
  private quiet = 0;
  private tick: NodeJS.Timeout | undefined;
  private check: NodeJS.Timeout | undefined;
  private bytes = 0;
  private bytesAtCheck = 0;

  constructor(
    private readonly pid: number,
    private readonly opts: PacingOptions,
    private readonly signal: (pid: number, sig: NodeJS.Signals) => void = (p, s) => process.kill(p, s),
    private readonly wchan: (pid: number) => string = wchanOf,
  ) {
    if (!Number.isInteger(opts.periodMs) || opts.periodMs < 1) throw new RangeError(`bad pacing period ${opts.periodMs}`);
  }

  /** One read of bpftrace's output, of n bytes. */
  output(n: number): void {
    this.bytes += n;
    if (!this.active && !this.done && n >= (this.opts.wakeBytes ?? 1024)) this.activate(n);
  }

  /** Lets bpftrace run for good (before it is signalled to stop, or once it has exited). */
  stop(exited = false): void {
    this.done = true;
    this.deactivate(exited);
  }

  private activate(n: number): void {
    this.active = true;
    this.quiet = 0;
    this.stats.starts++;
    // The read that started it counts in the first period.
    this.bytesAtCheck = this.bytes - n;
    this.tick = setInterval(() => this.onTick(), this.opts.periodMs);
    this.tick.unref();
    this.scheduleCheck();
  }

  private deactivate(exited = false): void {
    this.active = false;
    clearInterval(this.tick);
    clearTimeout(this.check);
    if (this.paused && !exited) this.send('SIGCONT');
    this.paused = false;
  }

  private onTick(): void {
    if (this.done) return;
    if (this.paused) {
      this.send('SIGCONT');
      this.paused = false;
    }
    this.scheduleCheck();
  }

  private scheduleCheck(): void {
    clearTimeout(this.check);
    this.check = setTimeout(() => this.maybePause(), this.opts.runMs ?? 2);
    this.check.unref();
  }

  private maybePause(): void {
    if (this.done || this.paused || !this.active) return;
    const n = this.bytes - this.bytesAtCheck;
    this.bytesAtCheck = this.bytes;
    this.quiet = n < (this.opts.quietBytes ?? 256) ? this.quiet + 1 : 0;
    if (this.quiet >= (this.opts.quietPeriods ?? 10)) {
      this.deactivate();
      return;
    }
    // Paused only while it waits for records (epoll): never in the middle of a drain or a write.
    if (n > (this.opts.busyBytes ?? 64 * 1024) || !/epoll/.test(this.wchan(this.pid))) {
      this.stats.busy++;
      return;
    }
    if (this.send('SIGSTOP')) {
      this.paused = true;
      this.stats.pauses++;
    }
  }

  private send(sig: NodeJS.Signals): boolean {
    try {
      this.signal(this.pid, sig);
      return true;
    } catch {
      // Gone: its exit is handled by whoever waits for it.
      this.paused = false;
      this.stop(true);
      return false;
    }
  }
}
