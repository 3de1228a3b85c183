import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { CounterDump, SensorEvent } from './events.js';
import { ParseError, parseFields } from './parse.js';
import { OutputFifo } from './output-fifo.js';
import { frameProgram, newTerminator } from './framing.js';
import { TextOutputReader } from './text-output.js';
import { AgentErrors } from '../errors.js';
import { defaultBpftrace } from '../bpftrace-path.js';
import { launchWithOverlay } from './events-overlay.js';
import { OutputPacer } from './pacing.js';
import { which } from '../preflight.js';

export interface SensorHandlers {
  onEvent(e: SensorEvent): void;
  /** bpftrace reported events lost in the perf buffer. */
  onLost(count: number): void;
  onParseError(err: ParseError): void;
  onCounters(dump: CounterDump[]): void;
  /** bpftrace ended without being asked to. */
  onUnexpectedExit(code: number | undefined, stderr: string): void;
}

export interface SensorOptions {
  program: string;
  bpftrace?: string;
  /** Output ring buffer size in pages, one buffer for all CPUs in bpftrace 0.23 (BPFTRACE_PERF_RB_PAGES). */
  perfRbPages?: number;
  startTimeoutMs?: number;
  /** Append every printed kernel line to this file (bug reports, replay in tests). */
  recordFile?: string;
  /** How long (ms) the reader lets a trickle of output gather before the next read (OutputFifo). */
  coalesceMs?: number;
  /** How long stop() waits for the program's stop probe before stopping bpftrace the slow way. */
  stopTimeoutMs?: number;
  /**
   * Output pacing period in ms (pacing.ts): while output flows, bpftrace is stopped between runs
   * this far apart instead of being woken for every event. 0 or undefined: off. Needs setpriv (util-linux),
   * which makes bpftrace die with the agent even while stopped; without it pacing stays off.
   */
  paceMs?: number;
}

const HARMLESS = /RLIMIT_MEMLOCK|^\s*$/;
/** How long stop() keeps reading after "z" for loss reports (bpftrace reads its ring buffer every 100 ms). */
const LAST_LOSS_REPORT_MS = 300;

/**
 * 16 MiB: the buffer that carries bpftrace and the agent through their stalls on a loaded node
 * (a descheduled bpftrace, a collecting or spooling agent). At 256 pages a node loaded to 9-15
 * runnable threads overflowed it at only 30k events/s; at 1,024 (4 MiB, about 30k events of the
 * benchmark's open/read/close mix, 0.15 s at 200k events/s) the agent benchmark lost events in
 * most runs at load 5-8 from 50k events/s on, and at 4,096 none up to where it fell behind
 * (BENCHMARKS.md).
 */
export const DEFAULT_PERF_RB_PAGES = 4096;

/**
 * The settings every run of the program needs (longest paths, output ring buffer, map sizes), in
 * bpftrace 0.23's names. No truncation trailer: a cut path arrives as its first STR_MAX bytes
 * (parse.ts marks it), not with ".." appended.
 */
export function bpftraceEnv(perfRbPages = DEFAULT_PERF_RB_PAGES): Record<string, string> {
  return {
    BPFTRACE_MAX_STRLEN: '200',
    BPFTRACE_STR_TRUNC_TRAILER: '',
    BPFTRACE_PERF_RB_PAGES: String(perfRbPages),
    BPFTRACE_MAX_MAP_KEYS: '65536',
    BPFTRACE_CPP_DEMANGLE: '0',
  };
}
/** Runs one bpftrace program through execa and turns its framed text output (framing.ts) into events. */
export class BpftraceSensor {
  private proc: ResultPromise | undefined;
  private stopping = false;
  /** The stop probe's "z" was read: the capture is complete and later output is ignored. */
  private ended = false;
  private onStopped: (() => void) | undefined;
  private stderr = '';
  /** Where stderr stood once every probe was attached: the compiler's output is before it. */
  private stderrAtReady = 0;
  private readonly counters = new Map<string, CounterDump>();
  private closed: Promise<void> | undefined;
  private fifo: OutputFifo | undefined;
  private pacer: OutputPacer | undefined;

  constructor(private readonly opts: SensorOptions, private readonly h: SensorHandlers) {}

  /** Resolves once every probe is attached (BEGIN has printed). */
  start(): Promise<void> {
    const bin = this.opts.bpftrace ?? defaultBpftrace();
    let ready = false;
    let onReady: () => void = () => undefined;
    let fifo: OutputFifo;
    let reader: TextOutputReader;
    const terminator = newTerminator();
    const program = frameProgram(this.opts.program, terminator);
    const onPrintf = (text: string) => {
      const ev = this.onPrintf(text);
      if (ev?.kind === 'ready' && !ready) {
        ready = true;
        onReady();
      }
    };
    try {
      reader = new TextOutputReader(terminator, {
        onPrintf,
        onOwnLine: (line) => this.onOwnLine(line),
        onBroken: (text) => {
          if (!this.ended) this.h.onParseError(new ParseError(text.slice(0, 300), 'a line without its end'));
        },
      });
      fifo = new OutputFifo((buf, start, end) => reader.line(buf, start, end), this.opts.coalesceMs);
    } catch (err) {
      return Promise.reject(AgentErrors.FP_ERR_SENSOR_START(`cannot create the output FIFO: ${(err as Error).message}`));
    }
    this.closed = fifo.closed.then(() => reader.end());
    this.fifo = fifo;
    // In the FIFO's private directory: a command line is readable by every process, the terminator must not be.
    const file = join(fifo.dir, 'program.bt');
    writeFileSync(file, program, { mode: 0o600 });
    const overlay = launchWithOverlay(bin, ['-o', fifo.path, file], program, fifo.dir);
    // A stopped bpftrace would outlive an agent killed outright (it never writes, so no SIGPIPE):
    // the parent-death signal ends it with the agent. setpriv execs in place, as the overlay does.
    const setpriv = this.opts.paceMs ? which('setpriv') : undefined;
    const launch = setpriv ? { file: setpriv, args: ['--pdeathsig', 'KILL', overlay.file, ...overlay.args] } : overlay;
    const proc = execa(launch.file, launch.args, {
      env: bpftraceEnv(this.opts.perfRbPages),
      stdin: 'ignore',
      stdout: 'ignore',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    this.proc = proc;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!ready) {
          proc.kill('SIGKILL');
          reject(AgentErrors.FP_ERR_SENSOR_START(`no probe attached within ${this.opts.startTimeoutMs ?? 60000} ms`));
        }
      }, this.opts.startTimeoutMs ?? 60000);
      onReady = () => {
        clearTimeout(timer);
        this.stderrAtReady = this.stderr.length;
        fifo.unlink();
        if (setpriv && proc.pid !== undefined && !this.stopping) {
          const pacer = new OutputPacer(proc.pid, { periodMs: this.opts.paceMs! });
          fifo.onRead = (n) => pacer.output(n);
          this.pacer = pacer;
        }
        resolve();
      };
      proc.stderr!.setEncoding('utf8');
      proc.stderr!.on('data', (d: string) => {
        if (this.stderr.length < 64 * 1024) this.stderr += d;
      });
      void proc.then(async (r) => {
        this.pacer?.stop(true);
        // bpftrace is gone, so everything it wrote is in the FIFO: read it all first.
        fifo.end();
        await this.closed;
        clearTimeout(timer);
        const readError = fifo.readError ? `reading its output failed: ${fifo.readError.message}` : '';
        if (!ready) {
          const why = [this.cleanStderr(0), readError].filter(Boolean).join('; ');
          reject(AgentErrors.FP_ERR_SENSOR_START(why || `bpftrace exited with code ${r.exitCode ?? r.signal}`));
        } else if (!this.ended && (!this.stopping || r.exitCode !== 0 || fifo.readError)) {
          // Before its stop probe ran, any exit (an abort while it was stopping included) is a
          // blind window that must show as a Gap. What it said while compiling is not why.
          const why = [r.signal ? `killed by ${r.signal}` : r.exitCode !== undefined ? `exit code ${r.exitCode}` : '', this.cleanStderr(this.stderrAtReady), readError];
          this.h.onUnexpectedExit(r.exitCode, why.filter(Boolean).join('; '));
        }
      });
    });
  }

  /** bpftrace's stderr from `from` on, one line: its errors, never its warnings' source excerpts. */
  private cleanStderr(from: number): string {
    const lines = this.stderr.slice(from).split('\n').filter((l) => !HARMLESS.test(l));
    const firstError = lines.findIndex((l) => /ERROR/.test(l));
    const kept = firstError >= 0 ? lines.slice(firstError) : lines.filter((l) => !/WARNING|^\s|^~/.test(l));
    return kept.map((l) => l.trim()).filter(Boolean).join(' | ').slice(0, 500);
  }

  /** One printf of the program: one event line. */
  private onPrintf(text: string): SensorEvent | undefined {
    if (this.ended) return undefined;
    if (this.opts.recordFile) appendFileSync(this.opts.recordFile, `${text}\n`);
    try {
      const ev = parseFields(text);
      if (ev.kind === 'stopped') {
        this.ended = true;
        this.onStopped?.();
        return ev;
      }
      if (ev.kind === 'counters-flushed') {
        // The maps printed just before this marker: hand them on in time order.
        ev.dump = [...this.counters.values()];
        this.counters.clear();
      }
      this.h.onEvent(ev);
      return ev;
    } catch (err) {
      if (err instanceof ParseError) this.h.onParseError(err);
      else throw err;
      return undefined;
    }
  }

  /**
   * A line bpftrace wrote itself. After "z" only loss reports count: bpftrace reports the ring
   * buffer's drops once per read of it, so drops from just before the stop come just after "z".
   */
  private onOwnLine(line: string): void {
    const lost = /^Lost (\d+) events$/.exec(line);
    if (lost) {
      const n = Number(lost[1]);
      if (n > 0) this.h.onLost(n);
      return;
    }
    if (!this.ended && line.startsWith('@')) this.onMapLine(line);
    // Anything else ("Attaching N probes...", a helper's warning) is not capture.
  }

  /** Syscalls of tracked processes, counted in the kernel (--count-raw). */
  rawSyscalls = 0;

  /** One entry of a printed counter map: `@rc[PID, GEN, FD]: N`, or `@raw: N`. */
  private onMapLine(line: string): void {
    const m = /^(@\w+)(?:\[(-?\d+), (-?\d+), (-?\d+)\])?: (-?\d+)$/.exec(line);
    if (!m) return;
    if (m[1] === '@raw' && m[2] === undefined) {
      this.rawSyscalls = Number(m[5]);
      return;
    }
    const field = ({ '@rc': 'rc', '@rb': 'rb', '@wc': 'wc', '@wb': 'wb' } as const)[m[1]!];
    if (!field || m[2] === undefined) return;
    const [pid, gen, fd] = [Number(m[2]), Number(m[3]), Number(m[4])];
    const k = `${pid},${gen},${fd}`;
    const d = this.counters.get(k) ?? { pid, gen, fd, rc: 0, rb: 0, wc: 0, wb: 0 };
    d[field] = Number(m[5]);
    this.counters.set(k, d);
  }

  /**
   * Stops capture. SIGUSR1 runs the program's stop probe, which prints the counters and then "z":
   * once that line is read the capture is complete, and bpftrace is told to exit (SIGINT) without
   * being waited for. bpftrace 0.23 detaches every probe before it exits, a kernel grace period
   * per tracepoint (seconds in all, under a lock that every tracer on the machine shares), and
   * nothing it prints after "z" is needed.
   * A bpftrace that does not answer is stopped the old way: SIGINT, waited for, killed after
   * 30 s (which loses its last counters: a sensor-exit Gap).
   */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.stopping = true;
    // Running for good: the stop probe's signal, and the drain after it, need it awake.
    this.pacer?.stop();
    if (!this.ended) {
      const stopped = new Promise<boolean>((res) => (this.onStopped = () => res(true)));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((res) => (timer = setTimeout(() => res(false), this.opts.stopTimeoutMs ?? 10000)));
      proc.kill('SIGUSR1');
      const answered = await Promise.race([stopped, proc.then(() => false), late]);
      clearTimeout(timer);
      if (!answered && !this.ended) return this.stopSlowly(proc);
    }
    // One more of bpftrace's reads of its ring buffer (every 100 ms) for the last loss report.
    await new Promise((r) => setTimeout(r, LAST_LOSS_REPORT_MS));
    proc.kill('SIGINT');
    // The reader stops here: a blocked read of the FIFO would hold up this process's exit. Once
    // nobody reads, bpftrace's next write ends it (SIGPIPE) if it has not exited by then.
    this.fifo?.end();
  }

  private async stopSlowly(proc: ResultPromise): Promise<void> {
    proc.kill('SIGINT');
    const t = setTimeout(() => proc.kill('SIGKILL'), 30000);
    await proc;
    await this.closed;
    clearTimeout(t);
    if (this.counters.size > 0) this.h.onCounters([...this.counters.values()]);
  }
}
