import { appendFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import type { CounterDump, SensorEvent } from './events.js';
import { ParseError, parseLine } from './parse.js';
import { OutputFifo } from './output-fifo.js';
import { AgentErrors } from '../errors.js';
import { defaultBpftrace } from '../bpftrace-path.js';

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
  /** Per-CPU perf buffer size in pages (BPFTRACE_PERF_RB_PAGES). */
  perfRbPages?: number;
  startTimeoutMs?: number;
  /** Append every printed kernel line to this file (bug reports, replay in tests). */
  recordFile?: string;
  /** How long (ms) the reader lets a trickle of output gather before the next read (OutputFifo). */
  coalesceMs?: number;
}

const HARMLESS = /RLIMIT_MEMLOCK|^\s*$/;

/**
 * The settings every run of the program needs (longest paths, per-CPU buffer, map sizes), in
 * bpftrace 0.23's names. No truncation trailer: a cut path arrives as its first STR_MAX bytes
 * (parse.ts marks it), not with ".." appended.
 */
export function bpftraceEnv(perfRbPages = 256): Record<string, string> {
  return {
    BPFTRACE_MAX_STRLEN: '200',
    BPFTRACE_STR_TRUNC_TRAILER: '',
    BPFTRACE_PERF_RB_PAGES: String(perfRbPages),
    BPFTRACE_MAX_MAP_KEYS: '65536',
    BPFTRACE_CPP_DEMANGLE: '0',
  };
}
/** Runs one bpftrace program through execa and turns its JSON output into events. */
export class BpftraceSensor {
  private proc: ResultPromise | undefined;
  private stopping = false;
  private stderr = '';
  private readonly counters = new Map<string, CounterDump>();
  private closed: Promise<void> | undefined;

  constructor(private readonly opts: SensorOptions, private readonly h: SensorHandlers) {}

  /** Resolves once every probe is attached (BEGIN has printed). */
  start(): Promise<void> {
    const bin = this.opts.bpftrace ?? defaultBpftrace();
    let ready = false;
    let onReady: () => void = () => undefined;
    let fifo: OutputFifo;
    try {
      fifo = new OutputFifo((line) => {
        const ev = this.onLine(line);
        if (ev?.kind === 'ready' && !ready) {
          ready = true;
          onReady();
        }
      }, this.opts.coalesceMs);
    } catch (err) {
      return Promise.reject(AgentErrors.FP_ERR_SENSOR_START(`cannot create the output FIFO: ${(err as Error).message}`));
    }
    this.closed = fifo.closed;
    const proc = execa(bin, ['-f', 'json', '-o', fifo.path, '-e', this.opts.program], {
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
        fifo.unlink();
        resolve();
      };
      proc.stderr!.setEncoding('utf8');
      proc.stderr!.on('data', (d: string) => {
        if (this.stderr.length < 64 * 1024) this.stderr += d;
      });
      void proc.then(async (r) => {
        // bpftrace is gone, so everything it wrote is in the FIFO: read it all first.
        fifo.end();
        await fifo.closed;
        clearTimeout(timer);
        const why = [this.cleanStderr(), fifo.readError ? `reading its output failed: ${fifo.readError.message}` : ''].filter(Boolean).join('; ');
        if (!ready) {
          reject(AgentErrors.FP_ERR_SENSOR_START(why || `bpftrace exited with code ${r.exitCode ?? r.signal}`));
        } else if (!this.stopping || r.exitCode !== 0 || fifo.readError) {
          // Asked to stop, bpftrace exits 0 after END; anything else (an abort while it was
          // stopping included) is a blind window that must show as a Gap.
          this.h.onUnexpectedExit(r.exitCode, [r.signal ? `killed by ${r.signal}` : '', why].filter(Boolean).join('; '));
        }
      });
    });
  }

  private cleanStderr(): string {
    return this.stderr
      .split('\n')
      .filter((l) => !HARMLESS.test(l))
      .join('\n')
      .trim();
  }

  private onLine(line: string): SensorEvent | undefined {
    let msg: { type?: string; data?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      if (line.trim() !== '') this.h.onParseError(new ParseError(line, 'not JSON'));
      return undefined;
    }
    switch (msg.type) {
      case 'printf': {
        if (typeof msg.data !== 'string') break;
        if (this.opts.recordFile) appendFileSync(this.opts.recordFile, msg.data.endsWith('\n') ? msg.data : `${msg.data}\n`);
        // Each printf call of the program is one message holding one event line.
        try {
          const ev = parseLine(msg.data);
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
      case 'lost_events': {
        const n = (msg.data as { events?: number } | undefined)?.events;
        if (typeof n === 'number' && n > 0) this.h.onLost(n);
        break;
      }
      case 'map':
        this.onMap(msg.data as Record<string, Record<string, number> | number>);
        break;
      default:
        break;
    }
    return undefined;
  }

  /** Syscalls of tracked processes, counted in the kernel (--count-raw). */
  rawSyscalls = 0;

  private onMap(data: Record<string, Record<string, number> | number>): void {
    for (const [name, entries] of Object.entries(data ?? {})) {
      if (name === '@raw' && typeof entries === 'number') {
        this.rawSyscalls = entries;
        continue;
      }
      const field = ({ '@rc': 'rc', '@rb': 'rb', '@wc': 'wc', '@wb': 'wb' } as const)[name];
      if (!field || typeof entries !== 'object') continue;
      for (const [key, value] of Object.entries(entries)) {
        const [pid, gen, fd] = key.split(',').map(Number);
        if (pid === undefined || gen === undefined || fd === undefined) continue;
        const k = `${pid},${gen},${fd}`;
        const d = this.counters.get(k) ?? { pid, gen, fd, rc: 0, rb: 0, wc: 0, wb: 0 };
        d[field] = Number(value);
        this.counters.set(k, d);
      }
    }
  }

  /** Stops bpftrace (SIGINT, so END runs and prints its counters) and waits for its output. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.stopping = true;
    this.proc.kill('SIGINT');
    // Detaching about a hundred probes takes seconds here; a kill loses END's counters (a sensor-exit Gap).
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), 30000);
    await this.proc;
    await this.closed;
    clearTimeout(t);
    if (this.counters.size > 0) this.h.onCounters([...this.counters.values()]);
  }
}
