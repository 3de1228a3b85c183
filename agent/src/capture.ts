import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { GENESIS_HASH, NODE_NAME_PATTERN, type ProcessNode } from '@faasprov/model';
import { AgentErrors } from './errors.js';
import { clockOffsetNs } from './sensor/clock.js';
import { buildProgram } from './sensor/program.js';
import { BpftraceSensor } from './sensor/bpftrace.js';
import { DEFAULT_SENSOR_PACE_MS } from './sensor/pacing.js';
import { ReorderBuffer } from './observer/reorder.js';
import { GraphBuffer } from './observer/graph-buffer.js';
import { Observer } from './observer/observer.js';
import { Shipper } from './ship/shipper.js';
import type { BatchExporter } from './ship/exporter.js';
import type { VolumeTable } from './volumes.js';
import type { GpuLibrary } from './sensor/gpu-probes.js';
import { AppLayer } from './observer/app-layer.js';
import { OtlpReceiver } from './otlp/receiver.js';
import { receiverKeys } from './observer/platform-endpoints.js';
import { hostSettings, type HostCaptureOptions } from './host-settings.js';

export interface CaptureOptions {
  /** The launcher process whose next exec starts the tracked tree. */
  rootPid: number;
  rootCwd: string;
  rootFds?: Map<number, string>;
  exporter: BatchExporter;
  node?: string;
  agent?: string;
  bpftrace?: string;
  perfRbPages?: number;
  /** Output pacing period of bpftrace in ms (sensor/pacing.ts; default DEFAULT_SENSOR_PACE_MS, 0: off). */
  sensorPaceMs?: number;
  recordFile?: string;
  /** How long events wait for stragglers from other CPUs (ms). */
  reorderWindowMs?: number;
  flushIntervalMs?: number;
  volumes?: VolumeTable;
  gpuLibraries?: GpuLibrary[];
  gpuServers?: ReadonlySet<string>;
  /** An OTLP/HTTP receiver for the command's spans (as the node agent's); undefined: none. */
  otlp?: { host: string; port: number };
  /** Sensitive paths (failed opens kept) and exec environment variables kept (the rules name them). */
  host?: HostCaptureOptions;
}

export interface CaptureSummary {
  agent: string;
  events: number;
  eventsByKind: Record<string, number>;
  lostEvents: number;
  parseErrors: number;
  /** bpftrace ended other than by stop(): what happened from then on (and its last counters) is missing; a sensor-exit Gap says so. */
  sensorExit?: string;
  unattributed: number;
  unknownProcess: number;
  batches: number;
  gaps: number;
  roots: ProcessNode[];
  nodeIds: string[];
}

/** One capture session: bpftrace → reorder → observer → batches → exporter. */
export class Capture {
  readonly agent: string;
  private readonly buffer = new GraphBuffer();
  private readonly observer: Observer;
  private readonly reorder: ReorderBuffer;
  private readonly sensor: BpftraceSensor;
  private readonly shipper: Shipper;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private lost = 0;
  private parseErrors = 0;
  private sensorExit: string | undefined;
  private readonly app: AppLayer;
  private otlp: OtlpReceiver | undefined;
  /** The OTLP receiver's address, once started. */
  otlpUrl: string | undefined;

  constructor(private readonly opts: CaptureOptions) {
    const node = opts.node ?? hostname();
    if (!NODE_NAME_PATTERN.test(node)) throw AgentErrors.FP_ERR_BAD_NODE(node);
    // The collector admits a batch only with facts of the node its agent id names.
    this.agent = opts.agent ?? `${node}:run-${randomUUID()}`;
    const host = hostSettings(opts.host);
    this.observer = new Observer(
      {
        node, agent: this.agent, clockOffsetNs: clockOffsetNs(), rootCwd: opts.rootCwd, rootFds: opts.rootFds, volumes: opts.volumes,
        gpu: { servers: opts.gpuServers ?? new Set(), probed: new Set((opts.gpuLibraries ?? []).map((l) => l.path)) },
        host: host.observer,
        telemetry: new Set(opts.otlp ? receiverKeys(opts.otlp.host, opts.otlp.port) : []),
      },
      this.buffer,
    );
    const windowNs = BigInt(opts.reorderWindowMs ?? 100) * 1_000_000n;
    this.reorder = new ReorderBuffer(windowNs, (e) => this.observer.handle(e));
    this.app = new AppLayer({ node }, this.observer, this.buffer);
    this.shipper = new Shipper(opts.exporter);
    this.sensor = new BpftraceSensor(
      { program: buildProgram({ scope: { kind: 'launcher', rootPid: opts.rootPid }, gpu: opts.gpuLibraries, ...host.program }), bpftrace: opts.bpftrace, perfRbPages: opts.perfRbPages, paceMs: opts.sensorPaceMs ?? DEFAULT_SENSOR_PACE_MS, recordFile: opts.recordFile },
      {
        onEvent: (e) => this.reorder.push(e),
        onLost: (n) => {
          this.lost += n;
          const t = this.observer.lastEventTime;
          this.observer.loss('perf-buffer-overflow', n, t, Date.now() * 1000);
        },
        onParseError: () => {
          this.parseErrors++;
          const t = Date.now() * 1000;
          this.observer.loss('parse-failure', 1, t, t);
        },
        onCounters: (dump) => {
          this.reorder.flushAll();
          this.observer.onCounters(dump);
        },
        onUnexpectedExit: (code, stderr) => {
          const t = this.observer.lastEventTime;
          this.observer.gap('sensor-exit', 0, t, Date.now() * 1000);
          // Said once, by whoever shows the summary (faasprov run prints it as one line).
          this.sensorExit = `bpftrace stopped before the capture ended (${stderr || `exit code ${code ?? 'none'}`})`;
        },
      },
    );
  }

  /** Resolves when every probe is attached: nothing the root does after this is missed. */
  async start(): Promise<void> {
    await this.sensor.start();
    if (this.opts.otlp) {
      const otlp = new OtlpReceiver({
        ...this.opts.otlp,
        accept: (spans) => this.app.accept(spans),
        onBadRequest: (why) => {
          const t = Date.now() * 1000;
          this.observer.loss('otlp-bad-request', 1, t, t, `an OTLP export request whose spans were lost: ${why}`.slice(0, 300));
        },
      });
      try {
        await otlp.start();
      } catch (err) {
        await this.sensor.stop();
        throw err;
      }
      this.otlp = otlp;
      this.otlpUrl = otlp.url;
    }
    this.timer = setInterval(() => this.tick(), this.opts.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  private tick(): void {
    this.reorder.drain(process.hrtime.bigint());
    this.app.drain();
    this.cut();
  }

  private lastHash = GENESIS_HASH;

  private cut(): void {
    this.observer.flushLosses();
    if (this.buffer.isEmpty()) return;
    const b = this.buffer.cut(this.agent, this.seq++, this.lastHash);
    this.lastHash = b.hash!;
    this.shipper.enqueue(b);
  }

  /** Stops capture, ships everything and waits for every batch to be committed. */
  async stop(): Promise<CaptureSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.otlp?.stop();
    await this.sensor.stop();
    this.reorder.flushAll();
    this.app.drain(true);
    // Held request reads go out with the last batch (request-reads.ts).
    this.observer.settlePendingReads(true);
    this.cut();
    await this.shipper.drain();
    const s = this.observer.stats;
    return {
      agent: this.agent,
      events: s.events,
      eventsByKind: { ...s.byKind },
      lostEvents: this.lost,
      parseErrors: this.parseErrors,
      sensorExit: this.sensorExit,
      unattributed: s.unattributed,
      unknownProcess: s.unknownProcess,
      batches: this.shipper.acked,
      gaps: s.gaps,
      roots: [...this.observer.roots],
      nodeIds: [...this.buffer.seen],
    };
  }
}
