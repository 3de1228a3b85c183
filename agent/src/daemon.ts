import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { NODE_NAME_PATTERN, type Batch } from '@faasprov/model';
import { clockOffsetNs } from './sensor/clock.js';
import { buildProgram, COMM_PATTERN } from './sensor/program.js';
import { BpftraceSensor } from './sensor/bpftrace.js';
import type { SensorEvent } from './sensor/events.js';
import { ReorderBuffer } from './observer/reorder.js';
import { GraphBuffer } from './observer/graph-buffer.js';
import { Observer } from './observer/observer.js';
import { DiskSpool } from './ship/spool.js';
import { SpoolShipper, type RawBatchSender } from './ship/spool-shipper.js';
import { HttpBatchExporter } from './ship/exporter.js';
import { NatsBatchSender } from './ship/nats.js';
import { AgentMetrics } from './metrics.js';
import { describeInstance, scanWatchedTrees, watchScope } from './procfs.js';
import { AgentErrors } from './errors.js';
import { VolumeTable } from './volumes.js';
import { parseGpuServer, resolveGpuLibraries } from './gpu-libraries.js';
import { applySchedPolicy, type SchedPolicy } from './scheduling.js';
import { which } from './preflight.js';
import { DEFAULT_SENSOR_PACE_MS } from './sensor/pacing.js';
import { ROOT_ENV_BYTES } from './sensor/host-probes.js';
import { AppLayer } from './observer/app-layer.js';
import { OtlpReceiver } from './otlp/receiver.js';
import { receiverKeys } from './observer/platform-endpoints.js';
import { FileVersions } from './observer/versions.js';
import { LiveTable } from './live-table.js';
import { hostSettings, type HostCaptureOptions } from './host-settings.js';

export interface NodeAgentOptions {
  /** An HTTP collector URL; or, with nats, a NATS server URL (scale-out). */
  collector?: string;
  nats?: string;
  token?: string;
  node?: string;
  watchComms: string[];
  spoolDir: string;
  spoolMaxBytes?: number;
  bpftrace?: string;
  perfRbPages?: number;
  /** host:port for /metrics; undefined: no metrics server. */
  metrics?: { host: string; port: number };
  /** Milliseconds between batches (default 1000): each batch costs an fsync and a request. */
  flushIntervalMs?: number;
  /** Bytes of JSON per batch at most (default 8 MiB, and never more than the transport takes). */
  maxBatchBytes?: number;
  counterFlushSec?: number;
  /** Scheduling policy of the agent and its bpftrace (default batch: never preempts a function on wake-up). */
  sched?: SchedPolicy;
  countRaw?: boolean;
  /** Output pacing period of bpftrace in ms (sensor/pacing.ts; default DEFAULT_SENSOR_PACE_MS, 0: off). */
  sensorPaceMs?: number;
  /** F3 volumes: MOUNT=ID:TIER[:NODE] specs, and TYPE=TIER to find mounts by file-system type. */
  volumes?: string[];
  volumeFstypes?: string[];
  /** CUDA libraries to probe (besides those the running functions map), and GPU servers (ADDRESS:PORT). */
  gpuLibs?: string[];
  gpuServers?: string[];
  /** The node-local OTLP/HTTP receiver for the functions' spans; undefined: none. */
  otlp?: { host: string; port: number };
  /** Sensitive paths (failed opens kept) and exec environment variables kept (the rules name them). */
  host?: HostCaptureOptions;
  log?: (msg: string) => void;
}

/**
 * Events are handed to the observer at least this often, and sooner once this many wait:
 * handling a whole batch interval's events at once would stall the event loop, and with it the
 * reading of bpftrace's output, long enough for a busy node's perf buffers to overflow.
 */
const DRAIN_INTERVAL_MS = 250;
const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** The interval and operation count a spooled batch covers (for the Gap of a refused one). */
function batchSpan(body: string): { from: number; to: number; count: number } {
  const now = Date.now() * 1000;
  try {
    const b = JSON.parse(body) as { edges?: { firstTime: number; lastTime: number; count: number }[] };
    const edges = b.edges ?? [];
    if (edges.length === 0) return { from: now, to: now, count: 0 };
    const s = { from: Infinity, to: 0, count: 0 };
    for (const e of edges) {
      s.from = Math.min(s.from, e.firstTime);
      s.to = Math.max(s.to, e.lastTime);
      s.count += e.count;
    }
    return s;
  } catch {
    return { from: now, to: now, count: 0 };
  }
}
const DRAIN_PENDING = 8192;

/**
 * A dropped batch's Gaps (kernel loss, parse failures...) go back into the buffer for the next
 * cut: a full spool drops operations and says so, but never drops what says something was lost.
 */
function keepGaps(batch: Batch, buffer: GraphBuffer): void {
  const byId = new Map(batch.nodes.map((n) => [n.id, n]));
  for (const n of batch.nodes) if (n.type === 'Gap') buffer.upsertNode(n);
  for (const e of batch.edges) {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    if (from?.type === 'Gap' && to) buffer.addEdge(e.type, from, to, e.firstTime, e.lastTime, e.count, e.bytes);
  }
}

/**
 * faasprov agent: one per node, for hours. Watches every tree rooted at a watchdog, ships
 * hash-chained batches through an on-disk spool, and turns every loss into a Gap node.
 */
export class NodeAgent {
  readonly spool: DiskSpool;
  readonly metrics = new AgentMetrics();
  readonly node: string;
  private readonly buffer = new GraphBuffer(false);
  private readonly observer: Observer;
  private readonly reorder: ReorderBuffer;
  private sensor: BpftraceSensor | undefined;
  private readonly shipper: SpoolShipper;
  private readonly offset = clockOffsetNs();
  private timer: NodeJS.Timeout | undefined;
  private lastCut = Date.now();
  private drainAt = DRAIN_PENDING;
  private server: Server | undefined;
  private stopping = false;
  /** Operations dropped because the spool was full, since the last spool-full gap. */
  private spoolDropped = { count: 0, from: 0, to: 0 };
  private readonly log: (msg: string) => void;
  metricsUrl: string | undefined;
  private readonly nats: NatsBatchSender | undefined;
  private readonly sender: RawBatchSender;
  /** What a restart must not forget, kept beside the spool: file versions and the live processes' starts. */
  private readonly versions: FileVersions;
  private readonly live: LiveTable;
  /** /proc facts read as soon as a watched exec is seen: short-lived roots are gone by the time it is processed. */
  private readonly facts = new Map<number, ReturnType<typeof describeInstance>>();
  private readonly watched: Set<string>;
  readonly volumes: VolumeTable;
  /** Real paths of the CUDA libraries the running sensor probes. */
  private readonly probedGpu = new Set<string>();
  private readonly app: AppLayer;
  private otlp: OtlpReceiver | undefined;
  /** The OTLP receiver's address, once started. */
  otlpUrl: string | undefined;

  constructor(private readonly opts: NodeAgentOptions) {
    for (const c of opts.watchComms) if (!COMM_PATTERN.test(c)) throw AgentErrors.FP_ERR_BAD_WATCH(JSON.stringify(c));
    if (opts.watchComms.length === 0) throw AgentErrors.FP_ERR_BAD_WATCH('no names given');
    this.node = opts.node ?? hostname();
    if (!NODE_NAME_PATTERN.test(this.node)) throw AgentErrors.FP_ERR_BAD_NODE(this.node);
    if (opts.token !== undefined && opts.token.length < 16) throw AgentErrors.FP_ERR_BAD_TOKEN();
    this.watched = new Set(opts.watchComms.map((c) => c.slice(0, 15)));
    this.log = opts.log ?? ((m) => process.stderr.write(`faasprov agent: ${m}\n`));
    this.volumes = VolumeTable.fromSpecs(opts.volumes ?? [], opts.volumeFstypes ?? [], this.node);
    const gpuServers = new Set((opts.gpuServers ?? []).map(parseGpuServer));
    this.spool = new DiskSpool({ dir: opts.spoolDir, node: this.node, maxBytes: opts.spoolMaxBytes });
    this.versions = new FileVersions(join(opts.spoolDir, 'versions.jsonl'));
    this.live = new LiveTable(join(opts.spoolDir, 'live.json'));
    this.observer = new Observer(
      {
        node: this.node,
        agent: this.spool.agent,
        clockOffsetNs: this.offset,
        rootCwd: '/',
        instances: { mode: 'process-tree', describe: (pid) => this.facts.get(pid) ?? describeInstance(pid, opts.host?.secretRoots), envBytes: ROOT_ENV_BYTES },
        volumes: this.volumes,
        gpu: { servers: gpuServers, probed: this.probedGpu },
        versions: this.versions,
        host: hostSettings(opts.host).observer,
        telemetry: new Set(opts.otlp ? receiverKeys(opts.otlp.host, opts.otlp.port) : []),
      },
      this.buffer,
    );
    this.reorder = new ReorderBuffer(100_000_000n, (e) => this.observer.handle(e));
    this.app = new AppLayer({ node: this.node }, this.observer, this.buffer);
    if (!opts.collector === !opts.nats) throw AgentErrors.FP_ERR_TRANSPORT();
    this.nats = opts.nats ? new NatsBatchSender(opts.nats, opts.token ? { token: opts.token } : {}) : undefined;
    const sender = (this.sender = this.nats ?? new HttpBatchExporter({ url: opts.collector!, token: opts.token }));
    let lastRetryLog = 0;
    this.shipper = new SpoolShipper(this.spool, sender, {
      onAck: () => this.metrics.batchesAcked.inc(),
      onReject: (p, why) => {
        this.metrics.batchesRejected.inc();
        // The Gap covers what the refused batch held, so every operation in it lies inside a Gap.
        const s = batchSpan(p.body);
        this.observer.gap('rejected-batch', s.count, s.from, s.to, `batch ${p.seq}: ${why}`);
        this.log(`collector refused batch ${p.seq} for good: ${why}`);
      },
      onRetry: (why) => {
        this.metrics.shipRetries.inc();
        if (Date.now() - lastRetryLog > 10000) {
          lastRetryLog = Date.now();
          this.log(`collector unavailable (${why}); batches wait in the spool (${this.spool.pendingCount} pending)`);
        }
      },
    });
  }

  get agentId(): string {
    return this.spool.agent;
  }

  private us(ns: bigint): number {
    return Number((ns + this.offset) / 1000n);
  }

  async start(): Promise<void> {
    const r = this.spool.resume;
    const policy = this.opts.sched ?? 'batch';
    const why = await applySchedPolicy(policy);
    if (why) this.log(`could not switch to SCHED_${policy.toUpperCase()} (${why}); running as before`);
    await this.startSensor();
    if (r) {
      // Nothing was captured from the last spooled batch until bpftrace was attached again; the
      // gaps concern the instances alive now (seeded from /proc by startSensor).
      const now = Date.now() * 1000;
      const versions = this.versions.stale > 0 ? `; ${this.versions.stale} files changed meanwhile start new version chains` : '';
      this.observer.gap('agent-down', 0, r.lastEventTime || now, now, `agent restarted; resending ${this.spool.pendingCount} spooled batches${versions}`);
      if (r.tornLines > 0) this.observer.gap('spool-torn', r.tornLines, r.lastEventTime || now, now, 'batches cut short by a crash');
    }
    this.shipper.start();
    this.timer = setInterval(() => this.tick(), DRAIN_INTERVAL_MS);
    if (this.opts.metrics) await this.startMetrics(this.opts.metrics);
    if (this.opts.otlp) await this.startOtlp(this.opts.otlp);
  }

  private async startOtlp(at: { host: string; port: number }): Promise<void> {
    const otlp = new OtlpReceiver({
      ...at,
      accept: (spans) => {
        const n = this.app.accept(spans);
        this.metrics.spansReceived.inc(n);
        if (n < spans.length) this.metrics.eventsLost.inc({ cause: 'otlp-queue-full' }, spans.length - n);
        return n;
      },
      onBadRequest: (why) => {
        this.metrics.eventsLost.inc({ cause: 'otlp-bad-request' });
        const t = Date.now() * 1000;
        this.observer.loss('otlp-bad-request', 1, t, t, `an OTLP export request whose spans were lost: ${why}`.slice(0, 300));
      },
    });
    try {
      await otlp.start();
    } catch (err) {
      // Capture goes on without the app layer; the lost spans are said, not hidden.
      const t = Date.now() * 1000;
      const why = `the OTLP receiver could not listen on ${at.host}:${at.port} (${(err as Error).message}); functions' spans are not received`;
      this.log(why);
      this.observer.gap('otlp-unavailable', 0, t, t, why);
      return;
    }
    this.otlp = otlp;
    this.otlpUrl = otlp.url;
    this.log(`OTLP/HTTP receiver on ${otlp.url}`);
  }

  private async startSensor(): Promise<void> {
    const seeds = scanWatchedTrees(this.opts.watchComms, (ns) => this.us(ns), process.pid, this.opts.host?.secretRoots);
    // A process already known (before a restart, or to this run before bpftrace died) keeps its id.
    this.live.canonical(seeds);
    const gpu = resolveGpuLibraries(this.opts.gpuLibs ?? [], seeds.map((s) => s.pid), this.log);
    const sensor = new BpftraceSensor(
      {
        program: buildProgram({
          scope: watchScope(this.opts.watchComms, seeds),
          counterFlushSec: this.opts.counterFlushSec ?? 10,
          countRaw: this.opts.countRaw,
          gpu,
          ...hostSettings(this.opts.host).program,
        }),
        bpftrace: this.opts.bpftrace,
        perfRbPages: this.opts.perfRbPages,
        paceMs: this.opts.sensorPaceMs ?? DEFAULT_SENSOR_PACE_MS,
      },
      {
        onEvent: (e) => this.onEvent(e),
        onLost: (n) => {
          this.metrics.eventsLost.inc({ cause: 'perf-buffer-overflow' }, n);
          this.observer.loss('perf-buffer-overflow', n, this.observer.lastEventTime, Date.now() * 1000);
        },
        onParseError: (err) => {
          this.metrics.eventsLost.inc({ cause: 'parse-failure' });
          const t = Date.now() * 1000;
          this.observer.loss('parse-failure', 1, t, t, err.message.slice(0, 300));
        },
        onCounters: (dump) => {
          this.reorder.flushAll();
          this.observer.onCounters(dump);
        },
        onUnexpectedExit: (code, stderr) => void this.onSensorExit(code, stderr),
      },
    );
    await sensor.start();
    this.sensor = sensor;
    this.probedGpu.clear();
    for (const l of gpu) this.probedGpu.add(l.path);
    for (const s of seeds) this.observer.seed(s);
    this.log(`watching ${this.opts.watchComms.join(', ')} as ${this.spool.agent}; ${seeds.filter((s) => s.root).length} instances already running`);
    if ((this.opts.sensorPaceMs ?? DEFAULT_SENSOR_PACE_MS) > 0 && !which('setpriv')) this.log('output pacing is off: setpriv (util-linux) is not on PATH, so bpftrace is woken for every event');
    for (const v of this.volumes.list()) this.log(`F3 volume ${v.id} (${v.tier}, node ${v.node}) at ${v.mount}`);
    for (const l of gpu) this.log(`probing ${l.symbols.length} GPU entry points in ${l.path}`);
  }

  private async onSensorExit(code: number | undefined, stderr: string): Promise<void> {
    const t = this.observer.lastEventTime;
    this.log(`bpftrace exited (${code}): ${stderr.slice(0, 300)}${this.stopping ? '' : '; restarting'}`);
    if (!this.stopping) this.metrics.sensorRestarts.inc();
    this.live.remember(this.observer.liveProcesses(), this.observer.lastEventTime);
    for (let attempt = 0; !this.stopping; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 30000)));
      try {
        await this.startSensor();
        break;
      } catch (err) {
        this.log(`bpftrace restart failed: ${(err as Error).message}`);
      }
    }
    this.observer.gap('sensor-exit', 0, t, Date.now() * 1000, `bpftrace exited with ${code}`);
  }

  private onEvent(e: SensorEvent): void {
    this.metrics.seen(e.kind);
    if (e.kind === 'exec' && this.watched.has(basename(e.exe).slice(0, 15))) {
      this.facts.set(e.pid, describeInstance(e.pid, this.opts.host?.secretRoots, e.ts));
      if (this.facts.size > 1000) this.facts.delete(this.facts.keys().next().value!);
    }
    if (e.kind === 'counters-flushed') {
      let n = 0;
      for (const c of e.dump) n += c.rc + c.wc;
      this.metrics.eventsReduced.inc(n);
      if (this.sensor) this.metrics.rawSyscalls.set(this.sensor.rawSyscalls);
    }
    this.reorder.push(e);
    if (this.reorder.size >= this.drainAt) this.drain();
  }

  /** Hands released events on. The next early drain waits for DRAIN_PENDING more events: a window too young to release is not re-sorted per event. */
  private drain(): void {
    this.reorder.drain(process.hrtime.bigint());
    this.drainAt = this.reorder.size + DRAIN_PENDING;
  }

  private tick(): void {
    this.drain();
    this.app.drain();
    const now = Date.now();
    if (now - this.lastCut < (this.opts.flushIntervalMs ?? 1000)) return;
    this.lastCut = now;
    this.saveLive();
    this.saveVersions();
    this.cut();
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.metrics.spoolPending.set(this.spool.pendingCount);
    this.metrics.attributionInferred.set(this.observer.stats.inferredCharges);
    this.reportUnreadFacts(now);
  }

  /** The unread instance facts already in the metrics, those in the last summary line, and since when some are not in one. */
  private unreadCounted = { unread: 0, named: 0 };
  private unreadLogged = { unread: 0, named: 0 };
  private unreadSince: number | undefined;

  /**
   * Instances whose root had exited before the agent read its /proc facts: counted, and said in
   * one line 10 s after the first one not yet said (a burst is one line, never more than a line
   * every 10 s), and what is left when the agent stops (each such Instance says factsUnread in
   * the graph).
   */
  private reportUnreadFacts(now: number, last = false): void {
    const { instanceFactsUnread: unread, instanceNamedFromExec: named } = this.observer.stats;
    const c = this.unreadCounted;
    this.metrics.instanceFactsUnread.inc(unread - c.unread);
    this.metrics.instanceNamedFromExec.inc(named - c.named);
    this.unreadCounted = { unread, named };
    const l = this.unreadLogged;
    if (unread === l.unread && named === l.named) return;
    this.unreadSince ??= now;
    if (now - this.unreadSince < 10000 && !last) return;
    const [u, n] = [unread - l.unread, named - l.named];
    this.unreadLogged = { unread, named };
    this.unreadSince = undefined;
    this.log(`${u} instance${u === 1 ? '' : 's'} whose root had exited before /proc was read (Instance.factsUnread): ${n} named from the environment the kernel copied at the exec, ${Math.max(0, u - n)} without a function name`);
  }

  private cut(): void {
    this.observer.flushLosses();
    if (this.spoolDropped.count > 0 && this.spool.bytes < this.spool.maxBytes * 0.9) {
      const d = this.spoolDropped;
      this.observer.gap('spool-full', d.count, d.from, d.to, 'the spool reached its size cap; newest operations were dropped');
      this.spoolDropped = { count: 0, from: 0, to: 0 };
    }
    if (this.buffer.isEmpty()) return;
    const max = Math.min(this.opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES, this.sender.maxBodyBytes?.() ?? Infinity);
    const batches = this.buffer.cutBounded(this.spool.agent, this.spool.nextSeq, this.spool.lastHash, max);
    let dropped = 0;
    // The interval of what was dropped: its operations' own times, so the Gap covers each of them.
    let from = Infinity;
    let to = 0;
    for (const { batch, json } of batches) {
      const ops = batch.edges.reduce((a, e) => a + e.count, 0);
      // After a refused append the rest of the cut would not chain to the spool: it is dropped too.
      if (dropped === 0 && this.spool.append(batch, json)) {
        this.metrics.batchesSpooled.inc();
        this.metrics.edgesSent.inc(ops);
      } else {
        dropped += ops;
        for (const e of batch.edges) {
          from = Math.min(from, e.firstTime);
          to = Math.max(to, e.lastTime);
        }
        keepGaps(batch, this.buffer);
      }
    }
    this.shipper.wake();
    if (dropped > 0) {
      const now = Date.now() * 1000;
      this.metrics.eventsLost.inc({ cause: 'spool-full' }, dropped);
      const d = this.spoolDropped;
      d.from = Math.min(d.count === 0 ? Infinity : d.from, from === Infinity ? now : from);
      d.to = Math.max(d.to, to || now);
      d.count += dropped;
    }
  }

  /**
   * Before the batch that names them is spooled: the processes alive and the starts their ids
   * were made with. Saved after it, a kill -9 between the two would leave a spooled Instance
   * that the next run re-keys from /proc: a second Instance for one root, and the agent-down Gap
   * attributed to the new one only.
   */
  private saveLive(): void {
    try {
      this.live.save(this.observer.liveProcesses(), this.observer.lastEventTime);
    } catch (err) {
      this.log(`cannot save restart state in ${this.opts.spoolDir}: ${(err as Error).message}`);
    }
  }

  /**
   * Before the batches holding them are spooled: the file versions made. Saved after, a kill -9
   * between the two left a stored write whose version the next run did not know: its reads met
   * version 0, a chain the write is not on (crash suite: unreached writes). Saved before, a version
   * whose batch the kill lost lies after the spool's last event, inside the agent-down Gap.
   */
  private saveVersions(): void {
    try {
      this.versions.persist(this.observer.lastEventTime);
    } catch (err) {
      this.log(`cannot save restart state in ${this.opts.spoolDir}: ${(err as Error).message}`);
    }
  }

  private async startMetrics(at: { host: string; port: number }): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void this.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(text);
        });
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(at.port, at.host, () => resolve());
    });
    const a = this.server.address() as { port: number };
    this.metricsUrl = `http://${at.host}:${a.port}/metrics`;
  }

  /** Stops capture, spools what is buffered and tries to deliver it within drainMs. */
  async stop(drainMs = 10000): Promise<{ delivered: boolean }> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.otlp?.stop();
    await this.sensor?.stop();
    this.reorder.flushAll();
    this.app.drain(true);
    // Held request reads go out with the last batch (request-reads.ts).
    this.observer.settlePendingReads(true);
    this.saveLive();
    this.saveVersions();
    this.cut();
    this.reportUnreadFacts(Date.now(), true);
    const delivered = await this.shipper.drain(drainMs);
    this.spool.close();
    await this.nats?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    return { delivered };
  }
}
