import { existsSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, posix } from 'node:path';
import {
  endpointId,
  fileId,
  gapId,
  instanceId,
  invocationId,
  isLoopback,
  pipeId,
  processId,
  unitId,
  type EdgeAttrs,
  type InvocationNode,
  type UnitNode,
  type EndpointNode,
  type InstanceNode,
  type PipeNode,
  type FileNode,
  type GapNode,
  type GraphNode,
  type ProcessNode,
} from '@faasprov/model';
import type { CounterDump, SensorEvent } from '../sensor/events.js';
import type { GraphBuffer } from './graph-buffer.js';
import { ObserverStats } from './metrics.js';
import { GpuTracker, gpuDevice } from './gpu.js';
import type { VolumePath, VolumeTable } from '../volumes.js';
import { CUDA_LIBRARY } from '../gpu-libraries.js';
import { FileVersions } from './versions.js';
import { endpointKey } from './platform-endpoints.js';
import { envFacts, envVars } from './instance-env.js';
import { ProcessUnits, UninstrumentedCalls, type ActiveUnit } from './attribution.js';
import { HostOps, type HostFile, type HostOptions } from './host.js';
import { REQUEST_READ_WAIT_US, type PendingRead } from './request-reads.js';
import { Connections, hostPort, RelayQueue, type Conn } from './connections.js';

const AT_FDCWD = -100;
const CONNECTION_INFERRED = 'accepts matched to a connect, or relayed requests to the request they forward, by order alone among several waiting (the Connection says matchInferred, the derivation inferred)';
/** Call ids remembered for spans that arrive after their invocation. */
const RECENT_UNITS = 10000;
const O_CLOEXEC = 0x80000;
const O_ACCMODE = 3;
const O_CREAT = 0x40;
const O_TRUNC = 0x200;

/**
 * The key of ProcState.lastEdge for an image's fd and a direction: a number while gen and fd are
 * the small integers they are (no string made and hashed per read or write), else a string.
 */
function lastKey(gen: number, fd: number, dir: 'read' | 'write'): number | string {
  if (Number.isInteger(gen) && Number.isInteger(fd) && gen >= 0 && gen < 0x100000 && fd >= 0 && fd < 0x80000000) return (gen * 0x80000000 + fd) * 2 + (dir === 'read' ? 0 : 1);
  return `${gen},${fd},${dir}`;
}

/** An open file description: shared by dup'ed and inherited fds, like the kernel's (refs counts them). */
type OpenFile = HostFile | ({ refs: number } & (
  /** conn: the connection's entities (connections.ts), from the server's side or the client's. */
  | { kind: 'socket'; endpoint: EndpointNode; conn?: Conn; side?: 'server' | 'client' }
  | { kind: 'pipe'; pipe: PipeNode }
));

/** A path, its key among file versions, and the F3 volume it lies on (observer's locate()). */
interface FileRef {
  path: string;
  key: string;
  at?: VolumePath;
}

/** Who did an operation (attribution.ts): a unit or a process image, and whether by inference. */
interface Subject {
  node: ProcessNode | UnitNode;
  unit?: ActiveUnit;
  attrs?: EdgeAttrs;
}

interface FdEntry {
  file: OpenFile;
  cloexec: boolean;
}

interface Image {
  gen: number;
  node: ProcessNode;
}

interface ProcState {
  pid: number;
  cwd: string;
  image: Image;
  images: Map<number, Image>;
  fds: Map<number, FdEntry>;
  /** Last edge per (gen, fd, direction), where the kernel's counters of later reads/writes go. */
  lastEdge: Map<number | string, { type: 'USED' | 'WAS_GENERATED_BY' | 'WAS_DERIVED_FROM'; from: GraphNode; to: GraphNode; first: number; attrs?: EdgeAttrs }>;
  renameFrom?: { path: string; truncated: boolean };
  instance?: InstanceNode;
  /** The invocations in progress and which thread serves which (attribution.ts). */
  units: ProcessUnits;
  /** Invocations this image finished. */
  served?: number;
  /** cudaSetDevice's ordinal, and the GPU server this process reaches (API remoting), if any. */
  gpuOrdinal?: number;
  gpuServer?: string;
  /** Request bytes read on an accepted socket by a thread serving no unit, by thread (request-reads.ts). */
  pendingReads?: Map<string, PendingRead>;
  /** Requests this image read and has not forwarded (a relay such as of-watchdog, connections.ts). */
  relay?: RelayQueue;
}

/** What /proc tells about a process that ran before capture started (faasprov agent). */
export interface SeedProcess {
  pid: number;
  ppid: number;
  start: number;
  exe: string;
  argv: string[];
  cwd: string;
  fds: Map<number, string>;
  uid?: number;
  euid?: number;
  /** A watched root: it starts an Instance. */
  root: boolean;
  instance?: InstanceFacts;
}

/** Facts about an instance that only /proc knows (read when its root appears). */
export interface InstanceFacts {
  cgroupPath?: string;
  function?: string;
  /** The tenant (OpenFaaS namespace). */
  namespace?: string;
  /** Its own network namespace's addresses, when it has one. */
  addresses?: string[];
  /** The secrets mounted for it (mount points below the secret roots). */
  secrets?: string[];
  /** Where its environment sends its spans, and the gateway it calls other functions through (platform-endpoints.ts: ADDRESS:PORT keys). */
  telemetry?: string[];
  gateway?: string[];
  /** Nothing could be read: the root had exited (or its pid was another process's) when the agent looked. */
  unread?: 'exited';
}

export interface ObserverOptions {
  node: string;
  agent: string;
  /** Kernel monotonic ns + offset = Unix epoch ns. */
  clockOffsetNs: bigint;
  /** The working directory and open fds the root process starts with. */
  rootCwd: string;
  rootFds?: Map<number, string>;
  /**
   * Daemon mode: every tracked root is a function instance, described by this lookup. envBytes:
   * how much of a new root's environment the kernel copies at its exec (host-probes.ts
   * ROOT_ENV_BYTES; 0 or absent: none), read when describe finds the root gone.
   */
  instances?: { mode: string; describe(pid: number): InstanceFacts; envBytes?: number };
  /** F3 volumes mounted on this node. */
  volumes?: VolumeTable;
  /** GPU servers (address:port) of a disaggregated pool, and the CUDA libraries the sensor probes (real paths). */
  gpu?: { servers: ReadonlySet<string>; probed: ReadonlySet<string> };
  /** File versions, when they must outlive the observer (the daemon keeps them in its spool dir). */
  versions?: FileVersions;
  /** Failed opens kept as attempts, the exec's environment variables kept (host.ts). */
  host?: HostOptions;
  /** The agent's own OTLP receiver (platform-endpoints.ts: ADDRESS:PORT keys), as processes outside a network namespace of their own reach it. */
  telemetry?: ReadonlySet<string>;
}

/**
 * Whether an instance's tenant is unknown for want of its facts: its root was gone before /proc
 * was read, and no complete copy of its environment (the exec's) said whether it has one. What
 * such an instance makes is marked tenantUnknown and hidden from tenant keys (model/tenancy.ts).
 */
export function tenantUnknown(i: InstanceNode): boolean {
  return i.tenant === undefined && i.factsUnread !== undefined && (i.envFrom === undefined || i.envTruncated === true);
}

/**
 * Turns the ordered syscall stream into provenance: processes (one node per image), their fd
 * tables (inherited across fork and exec), file versions and endpoints.
 */
export class Observer {
  private readonly procs = new Map<number, ProcState>();
  private readonly versions: FileVersions;
  /** Exited processes stay reachable for the counters the kernel dumps at the end. */
  private readonly exited = new Map<number, ProcState>();
  readonly stats = new ObserverStats();
  private lastTs = 0n;
  private readonly gpu: GpuTracker;
  /** Open file descriptions holding an F3 file open for writing, by file key. */
  private readonly writers = new Map<string, Set<OpenFile>>();
  /** CUDA libraries mapped by a function but not probed, already reported. */
  private readonly unprobed = new Set<string>();
  /** The platform's endpoints each instance's environment names, by instance id (platform-endpoints.ts). */
  private readonly platform = new Map<string, { telemetry: ReadonlySet<string>; gateway: ReadonlySet<string> }>();

  constructor(private readonly opts: ObserverOptions, private readonly out: GraphBuffer) {
    this.gpu = new GpuTracker(out, this.stats);
    this.conns = new Connections(opts.node);
    this.versions = opts.versions ?? new FileVersions();
    this.host = this.hostOps();
  }

  private readonly host: HostOps<ProcState, FileRef>;

  /** The host operations module (host.ts) works on this observer's state through these. */
  private hostOps(): HostOps<ProcState, FileRef> {
    return new HostOps<ProcState, FileRef>(
      {
        node: this.opts.node,
        out: this.out,
        stats: this.stats,
        process: (pid) => this.procs.get(pid),
        subject: (p, tid, t) => this.subject(p, tid, t),
        resolve: (p, dirfd, path) => this.resolve(p, dirfd, path),
        locate: (path) => this.locate(path),
        fileNode: (ref, version, truncated) => this.fileNode(ref, version, truncated),
        currentNode: (ref, truncated) => this.currentNode(ref, truncated),
        versionOf: (ref) => this.versionOf(ref),
        nextVersion: (ref, t, p) => this.nextVersion(ref, t, p),
        // As onData decides: a write through a description that keeps content extends the version it met.
        baseOf: (ref, f) => (f.keeps === true && (this.versions.get(ref.key) !== undefined || f.existed === true) ? this.currentNode(ref, f.truncated) : undefined),
        dropVersion: (ref) => void this.versions.delete(ref.key),
        owned: (n, p) => this.owned(n, p),
        setFile: (p, fd, file, cloexec) => this.setFd(p, fd, file, cloexec),
        setEndpoint: (p, fd, endpoint) => this.setFd(p, fd, { refs: 0, kind: 'socket', endpoint }, false),
      },
      this.opts.host,
    );
  }

  us(ts: bigint): number {
    return Number((ts + this.opts.clockOffsetNs) / 1000n);
  }

  get lastEventTime(): number {
    return this.lastTs === 0n ? Date.now() * 1000 : this.us(this.lastTs);
  }

  /** Root processes seen so far (their first image). */
  roots: ProcessNode[] = [];
  /** Connections from processes serving no invocation to instances' addresses (attribution.ts). */
  private readonly calls = new UninstrumentedCalls();
  /** Listening sockets and connects waiting for their accept (connections.ts). */
  private readonly conns: Connections;

  /** The latest units (attempts) of each recent call id, open or ended (for the app layer's spans). */
  private readonly recent = new Map<string, ActiveUnit[]>();

  /** The unit of callId running at time at (µs), else the latest one begun before it, else the latest. */
  unitOf(callId: string, at?: number): ActiveUnit | undefined {
    const units = this.recent.get(callId);
    if (!units || at === undefined) return units?.at(-1);
    const before = units.filter((u) => u.node.start <= at);
    return before.find((u) => u.node.end === undefined || u.node.end >= at) ?? before.at(-1) ?? units.at(-1);
  }

  /** Roots whose /proc facts were unread, waiting for the environment the kernel copied at their exec, by pid:gen. */
  private readonly rootEnv = new Map<string, { instance: InstanceNode; image: ProcessNode; bytes: Buffer[]; read: number }>();

  /** Live instances and how many of their processes are alive. */
  private readonly live = new Map<string, { node: InstanceNode; procs: number }>();

  handle(e: SensorEvent): void {
    this.stats.seen(e.kind);
    if (e.ts > this.lastTs) this.lastTs = e.ts;
    switch (e.kind) {
      case 'ready':
        return;
      case 'counters-flushed':
        return this.onCounters(e.dump, this.us(e.ts));
      case 'exec':
        return this.onExec(e);
      case 'fork':
        return this.onFork(e);
      default:
        break;
    }
    const p = this.procs.get(e.pid);
    if (!p) {
      this.stats.unknownProcess++;
      return;
    }
    const t = this.us(e.ts);
    switch (e.kind) {
      case 'argv': {
        const img = p.images.get(e.gen);
        if (img) {
          img.node.argv = e.argv.slice(0, 256);
          if (e.truncated) img.node.argvTruncated = true;
          this.out.upsertNode(img.node);
        }
        return;
      }
      case 'exit': {
        this.settleReads(p, () => true);
        const n = p.image.node;
        n.end = t;
        n.exitCode = e.code & 0x7f ? 128 + (e.code & 0x7f) : (e.code >> 8) & 0xff;
        this.out.upsertNode(n);
        this.endUnits(p, t);
        for (const fd of [...p.fds.keys()]) this.dropFd(p, fd);
        this.procs.delete(e.pid);
        this.leave(p);
        this.exited.set(e.pid, p);
        if (this.exited.size > 10000) this.exited.delete(this.exited.keys().next().value!);
        return;
      }
      case 'open': {
        const path = this.resolve(p, e.dirfd, e.path);
        const file: OpenFile = { refs: 0, kind: 'file', path, truncated: e.truncated };
        if ((e.flags & O_ACCMODE) !== 0) {
          const ref = this.locate(path);
          if (ref.at) {
            file.writer = true;
            this.writersOf(ref).add(file);
          }
          if ((e.flags & O_TRUNC) === 0) file.keeps = true;
          if ((e.flags & O_CREAT) === 0) file.existed = true;
        }
        this.setFd(p, e.fd, file, (e.flags & O_CLOEXEC) !== 0);
        this.host.onOpen(p, e.tid, file, e.flags, t);
        return;
      }
      case 'open-failed':
      case 'mkdir':
      case 'rmdir':
      case 'link-from':
      case 'link-to':
      case 'namespace':
      case 'raw-socket':
      case 'userfaultfd':
      case 'memfd':
      case 'pidfd':
      case 'pidfd-signal':
      case 'exec-env':
        if (e.kind === 'exec-env' && this.rootEnv.size > 0) this.onRootEnv(p, e);
        return this.host.handle(p, e, t);
      case 'read':
      case 'write':
        return this.onData(p, e.kind, e.gen, e.fd, t, e.bytes, e.tid);
      case 'close':
      case 'flush':
        this.addCounters(p, e, t);
        if (e.kind === 'close') this.dropFd(p, e.fd);
        return;
      case 'dup': {
        const src = p.fds.get(e.oldfd);
        if (src) this.setFd(p, e.newfd, src.file, e.cloexec);
        else this.dropFd(p, e.newfd);
        return;
      }
      case 'close-range': {
        const last = e.last < 0 ? Number.MAX_SAFE_INTEGER : e.last;
        for (const fd of [...p.fds.keys()]) if (fd >= e.first && fd <= last) this.dropFd(p, fd);
        return;
      }
      case 'chdir':
        p.cwd = this.resolve(p, AT_FDCWD, e.path);
        return;
      case 'fchdir': {
        const f = p.fds.get(e.fd)?.file;
        if (f?.kind === 'file') p.cwd = f.path;
        return;
      }
      case 'rename-from':
        p.renameFrom = { path: this.resolve(p, e.dirfd, e.path), truncated: e.truncated };
        return;
      case 'rename-to':
        return this.onRename(p, this.resolve(p, e.dirfd, e.path), e.truncated, t, e.tid);
      case 'unlink':
        return this.onUnlink(p, this.resolve(p, e.dirfd, e.path), e.truncated, t, e.tid);
      case 'connect':
      case 'bind':
      case 'accept':
        return this.onSocket(p, e, t);
      case 'pipe':
        return this.onPipe(p, e.socketpair, e.rfd, e.wfd, t);
      case 'mmap-exec': {
        const f = p.fds.get(e.fd)?.file;
        const img = p.images.get(e.gen) ?? p.image;
        if (f?.kind === 'file') {
          const ref = this.locate(f.path);
          const s = this.subject(p, e.tid, t, img);
          this.out.addEdge('USED', s.node, this.currentNode(ref, f.truncated), t, t, 1, 0, s.attrs);
          this.checkGpuLibrary(f.path, t);
        } else this.stats.unattributed++;
        return;
      }
      case 'setid': {
        const n = p.image.node;
        Object.assign(n, { uid: e.uid, euid: e.euid, gid: e.gid, egid: e.egid, credChanged: t });
        this.out.upsertNode(n);
        return;
      }
      case 'kill':
        return this.host.signal(p, e.tid, e.target, t, { signal: e.signal });
      case 'ptrace':
        return this.host.signal(p, e.tid, e.target, t, { ptrace: e.request });
      case 'chmod':
      case 'truncate':
        return this.onModify(p, this.resolve(p, e.dirfd, e.path), e.truncated, t, e.tid, e.kind === 'chmod');
      case 'fchmod':
      case 'ftruncate': {
        const f = p.fds.get(e.fd)?.file;
        if (f?.kind === 'file') this.onModify(p, f.path, f.truncated, t, e.tid, e.kind === 'fchmod');
        else this.stats.unattributed++;
        return;
      }
      case 'marker':
        return this.onMarker(p, e.tid, e.phase, e.callId, t, e.function);
      case 'thread':
        return p.units.thread(e.tid, e.child);
      case 'gpu-alloc':
      case 'gpu-free':
      case 'gpu-copy':
      case 'gpu-launch':
        return this.gpu.handle(e, this.gpuCaller(p, e.tid, t), t);
      case 'gpu-device':
        if (e.rc === 0) p.gpuOrdinal = e.device;
        return;
    }
  }

  /**
   * Who did it: the unit that the acting thread serves, else the process image, by the rules of
   * attribution.ts. An inferred charge is marked on the edge, counted, and summed into an
   * `attribution-inferred` Gap per batch interval. Events without a thread (recordings made
   * before threads were told apart) count as the main thread's.
   */
  private subject(p: ProcState, tid: number | undefined, t: number, img: Image = p.image): Subject {
    if (img !== p.image) return { node: img.node };
    const c = p.units.charge(tid ?? p.pid);
    if (c.inferred) {
      this.stats.inferredCharges++;
      this.loss('attribution-inferred', 1, t, t, 'operations charged by inference (edges marked inferred): a thread serving no invocation in a process with open invocations, or a thread that began one invocation while serving another');
    }
    const attrs = c.inferred ? { inferred: true } : undefined;
    return c.unit ? { node: c.unit.node, unit: c.unit, attrs } : { node: img.node, attrs };
  }

  /** subject(), but a span exporter's thread (serving no unit) talking to the telemetry receiver is the process image, exactly: attribution.ts rule 6. */
  private endpointSubject(p: ProcState, tid: number | undefined, t: number, ep: EndpointNode, img: Image = p.image): Subject {
    if (ep.role === 'telemetry' && img === p.image && !p.units.serves(tid ?? p.pid)) return { node: img.node };
    return this.subject(p, tid, t, img);
  }

  private gpuCaller(p: ProcState, tid: number | undefined, t: number) {
    const device = gpuDevice(this.opts.node, p.pid, p.image.node.start, p.gpuOrdinal ?? 0, p.gpuServer);
    return { node: this.opts.node, pid: p.pid, device, subject: this.subject(p, tid, t).node, tenant: p.instance?.tenant, tenantUnknown: p.instance !== undefined && tenantUnknown(p.instance) };
  }

  /** A CUDA library mapped by a function that the sensor does not probe: its GPU calls are lost. */
  private checkGpuLibrary(path: string, t: number): void {
    if (!CUDA_LIBRARY.test(basename(path)) || this.unprobed.has(path)) return;
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // Gone already: judge by the mapped path.
    }
    if (this.opts.gpu?.probed.has(real)) return;
    this.unprobed.add(path);
    this.loss('gpu-library-unprobed', 1, t, t, `${path} was mapped after the sensor started; its GPU calls are not captured (configure it with --gpu-lib)`);
  }

  /** fn: the function the shim names (kept only when /proc could not tell the instance's). */
  private onMarker(p: ProcState, tid: number, phase: 'begin' | 'end', callId: string, t: number, fn?: string): void {
    if (phase === 'end') {
      const u = p.units.end(callId);
      if (u) {
        this.closeUnit(u, t);
        p.served = (p.served ?? 0) + 1;
      } else this.stats.markerMismatch++;
      return;
    }
    const img = p.image.node;
    const { created, overlap } = p.units.begin(tid, callId, () => this.newUnit(p, tid, callId, t, fn));
    if (overlap) {
      // The thread still served another open invocation (attribution.ts, rule 3).
      this.stats.markerMismatch++;
      this.stats.threadOverlaps++;
    }
    const u = p.units.get(callId)!;
    const pending = p.pendingReads?.get(`t${tid}`);
    if (pending) {
      p.pendingReads!.delete(pending.key);
      if (t - pending.t <= REQUEST_READ_WAIT_US) {
        // The request this thread read is the one it now serves.
        this.stats.requestReadsClaimed++;
        this.out.addEdge('USED', u.node, pending.entity, pending.t, pending.t, 1, pending.bytes);
        p.lastEdge.set(lastKey(pending.gen, pending.fd, 'read'), { type: 'USED', from: u.node, to: pending.entity, first: pending.t });
        // Served here, not forwarded: no relay's request (connections.ts).
        const f = p.fds.get(pending.fd)?.file;
        if (f?.kind === 'socket' && f.conn) p.relay?.drop(f.conn);
      } else this.settleRead(p, pending);
    }
    if (!created) return;
    this.out.addEdge('PART_OF', u.node, u.invocation, t, t, 1, 0);
    // A caller without a template (no unit, no spans): the connection to this instance just before.
    const caller = p.instance ? this.calls.take(p.instance.id, t) : undefined;
    if (caller) {
      this.stats.inferredCallers++;
      this.out.addEdge('WAS_INFORMED_BY', u.invocation, caller, t, t, 1, 0, { inferred: true });
    }
    // The unit starts from the process's state (code loaded, config read), not from earlier units.
    this.out.addEdge('WAS_INFORMED_BY', u.node, img, t, t, 1, 0);
    if (p.instance) this.out.addEdge('WAS_ASSOCIATED_WITH', u.invocation, p.instance, t, t, 1, 0);
  }

  /** A unit for one run (attempt) of an invocation in this process image, begun by thread tid. */
  private newUnit(p: ProcState, tid: number, callId: string, t: number, fn?: string): ActiveUnit {
    const tenant = p.instance?.tenant;
    const invocation: InvocationNode = { id: invocationId(callId, tenant), type: 'Invocation', callId, start: t, source: 'shim' };
    const functionName = p.instance?.function ?? fn;
    if (functionName) invocation.function = functionName;
    if (tenant) invocation.tenant = tenant;
    const img = p.image.node;
    const node: UnitNode = {
      id: unitId(this.opts.node, p.pid, img.start, callId, t), type: 'Unit', node: this.opts.node, pid: p.pid, processStart: img.start, callId, start: t, tid,
    };
    this.owned(node, p);
    if (p.instance) node.instance = p.instance.id;
    if (functionName) node.function = functionName;
    const u: ActiveUnit = { node, invocation, tid, servedBefore: p.served ?? 0, ephemeral: new Map() };
    // Spans arrive after their invocation: they find it by call id (app-layer.ts).
    const attempts = this.recent.get(callId) ?? [];
    this.recent.delete(callId);
    this.recent.set(callId, [...attempts.slice(-7), u]);
    if (this.recent.size > RECENT_UNITS) this.recent.delete(this.recent.keys().next().value!);
    return u;
  }

  private endUnits(p: ProcState, t: number): void {
    for (const u of p.units.endAll()) this.closeUnit(u, t);
  }

  private closeUnit(u: ActiveUnit, t: number): void {
    u.node.end = t;
    u.invocation.end = t;
    this.out.upsertNode(u.node);
    this.out.upsertNode(u.invocation);
    for (const { node, path } of u.ephemeral.values()) {
      if (node.deleted !== undefined || !existsSync(path)) {
        node.deleted ??= t;
        node.removedAtInvocationEnd = true;
        this.out.upsertNode(node);
      }
    }
  }

  private writersOf(ref: FileRef): Set<OpenFile> {
    let set = this.writers.get(ref.key);
    if (!set) this.writers.set(ref.key, (set = new Set()));
    return set;
  }

  private setFd(p: ProcState, fd: number, file: OpenFile, cloexec: boolean): void {
    this.dropFd(p, fd);
    file.refs++;
    p.fds.set(fd, { file, cloexec });
  }

  /** An fd goes away; its open file description closes with its last fd. */
  private dropFd(p: ProcState, fd: number): void {
    this.settleReads(p, (r) => r.fd === fd);
    const entry = p.fds.get(fd);
    if (!entry) return;
    p.fds.delete(fd);
    const f = entry.file;
    if (f.refs === 1 && f.kind === 'socket' && f.conn) p.relay?.drop(f.conn);
    if (--f.refs <= 0 && f.kind === 'file' && f.writer) {
      const k = this.locate(f.path).key;
      const set = this.writers.get(k);
      set?.delete(f);
      if (set?.size === 0) this.writers.delete(k);
    }
  }

  /**
   * Where a path lies, worked out once per operation: the key of its versions (an F3 file is one
   * file whatever mount point reaches it) and its volume, if any.
   */
  private locate(path: string): FileRef {
    const at = this.opts.volumes?.size ? this.opts.volumes.resolve(path) : undefined;
    return at ? { path, key: `\0${at.volume.id}\0${at.path}`, at } : { path, key: path };
  }

  private versionOf(ref: FileRef): number {
    return this.versions.version(ref.key);
  }

  /** The version a read or an unlink meets: tagged with the tenant whose write made it. */
  private currentNode(ref: FileRef, truncated: boolean): FileNode {
    const v = this.versions.get(ref.key);
    const n = this.fileNode(ref, v?.version ?? 0, truncated);
    if (v?.tenant !== undefined) n.tenant = v.tenant;
    return n;
  }

  private newImage(pid: number, gen: number, start: number, exe: string, argv: string[]): Image {
    const node: ProcessNode = { id: processId(this.opts.node, pid, start), type: 'Process', node: this.opts.node, pid, start, exe, argv };
    return { gen, node };
  }

  private associate(p: ProcState, img: Image, t: number): void {
    if (!p.instance) return;
    this.owned(img.node, p);
    this.out.addEdge('WAS_ASSOCIATED_WITH', img.node, p.instance, t, t, 1, 0);
  }

  /** What a tenant's process is and makes (its image, units, file versions, served endpoints, pipes) belongs to that tenant; marked tenantUnknown when its instance's tenant could not be read. */
  private owned<T extends { tenant?: string; tenantUnknown?: true }>(n: T, p: ProcState): T {
    if (p.instance?.tenant) n.tenant = p.instance.tenant;
    else if (p.instance && tenantUnknown(p.instance)) n.tenantUnknown = true;
    return n;
  }

  private join(p: ProcState): void {
    if (!p.instance) return;
    const l = this.live.get(p.instance.id);
    if (l) l.procs++;
    else this.live.set(p.instance.id, { node: p.instance, procs: 1 });
  }

  private leave(p: ProcState): void {
    if (!p.instance) return;
    const l = this.live.get(p.instance.id);
    if (l && --l.procs <= 0) this.live.delete(p.instance.id);
  }

  private newInstance(pid: number, start: number, exe: string, cgroupId: string | undefined, facts: InstanceFacts): InstanceNode {
    const n: InstanceNode = {
      id: instanceId(this.opts.node, pid, start),
      type: 'Instance',
      node: this.opts.node,
      rootPid: pid,
      start,
      mode: this.opts.instances?.mode ?? 'process-tree',
      exe,
    };
    if (cgroupId !== undefined) n.cgroupId = cgroupId;
    if (facts.cgroupPath) n.cgroupPath = facts.cgroupPath;
    if (facts.function) n.function = facts.function;
    if (facts.namespace) n.tenant = facts.namespace;
    if (facts.addresses?.length) {
      n.addresses = facts.addresses;
      for (const a of facts.addresses) this.calls.serve(a, n.id);
    }
    if (facts.secrets?.length) n.secrets = facts.secrets;
    this.notePlatform(n, facts);
    if (facts.unread) {
      n.factsUnread = facts.unread;
      this.stats.instanceFactsUnread++;
    }
    this.out.upsertNode(n);
    return n;
  }

  /**
   * A chunk of the environment the kernel copied at a root's exec, for a root whose /proc was
   * gone: once complete (or at the end of what the kernel read), the instance's function and
   * tenant are read from it, exactly as from /proc/PID/environ (the same bytes, copied earlier).
   * Names in its endpoints' URLs do not resolve: the instance's hosts file is gone with it.
   */
  private onRootEnv(p: ProcState, e: Extract<SensorEvent, { kind: 'exec-env' }>): void {
    const key = `${p.pid}:${e.gen}`;
    const w = this.rootEnv.get(key);
    // A chunk out of order (one lost in between) leaves the environment unread: the instance stays unnamed.
    if (!w || e.offset !== w.read) return;
    w.bytes.push(e.bytes);
    w.read += e.bytes.length;
    const limit = this.opts.instances?.envBytes ?? 0;
    if (w.read < e.total && w.read < limit) return;
    this.rootEnv.delete(key);
    const entries = Buffer.concat(w.bytes).toString('utf8').split('\0');
    const truncated = w.read < e.total;
    // An entry cut by the end of what was read is incomplete: dropped.
    if (truncated) entries.pop();
    const facts = envFacts(envVars(entries));
    const n = w.instance;
    n.envFrom = 'exec';
    if (truncated) n.envTruncated = true;
    if (facts.function) {
      n.function = facts.function;
      this.stats.instanceNamedFromExec++;
    }
    // The root's image was associated before its tenant was known; its later processes take it from the instance.
    if (facts.namespace) {
      n.tenant = facts.namespace;
      w.image.tenant = facts.namespace;
    }
    if (!tenantUnknown(n)) delete w.image.tenantUnknown;
    this.out.upsertNode(w.image);
    this.notePlatform(n, facts);
    this.out.upsertNode(n);
  }

  /** Where an instance's environment sends its spans and its calls of other functions (platform-endpoints.ts). */
  private notePlatform(n: InstanceNode, facts: Pick<InstanceFacts, 'telemetry' | 'gateway'>): void {
    if (facts.telemetry?.length || facts.gateway?.length) this.platform.set(n.id, { telemetry: new Set(facts.telemetry), gateway: new Set(facts.gateway) });
  }

  /** Adopts a process that ran before capture started (parents before children). */
  seed(s: SeedProcess): void {
    const img = this.newImage(s.pid, 0, s.start, s.exe, s.argv);
    if (s.uid !== undefined) img.node.uid = s.uid;
    if (s.euid !== undefined) img.node.euid = s.euid;
    const parent = this.procs.get(s.ppid);
    const fds = new Map<number, FdEntry>();
    for (const [fd, target] of s.fds) fds.set(fd, { file: { refs: 1, kind: 'file', path: target, truncated: false }, cloexec: false });
    const p: ProcState = { pid: s.pid, cwd: s.cwd, image: img, images: new Map([[0, img]]), fds, lastEdge: new Map(), units: new ProcessUnits() };
    if (s.root || !parent) p.instance = this.newInstance(s.pid, s.start, s.exe, undefined, s.instance ?? {});
    else p.instance = parent.instance;
    this.procs.set(s.pid, p);
    this.join(p);
    this.out.upsertNode(img.node);
    if (parent && !s.root) this.out.addEdge('WAS_INFORMED_BY', img.node, parent.image.node, s.start, s.start, 1, 0);
    this.associate(p, img, s.start);
  }

  private onExec(e: Extract<SensorEvent, { kind: 'exec' }>): void {
    const t = this.us(e.ts);
    const img = this.newImage(e.pid, e.gen, t, e.exe, []);
    if (e.exeTruncated) img.node.exeTruncated = true;
    img.node.uid = e.uid;
    img.node.euid = e.euid;
    let p = this.procs.get(e.pid);
    if (!p) {
      // The root of a tracked tree: the first image we see of this pid.
      const fds = new Map<number, FdEntry>();
      for (const [fd, target] of this.opts.rootFds ?? []) {
        fds.set(fd, { file: { refs: 1, kind: 'file', path: target, truncated: false }, cloexec: false });
      }
      p = { pid: e.pid, cwd: this.opts.rootCwd, image: img, images: new Map(), fds, lastEdge: new Map(), units: new ProcessUnits() };
      if (this.opts.instances) {
        const facts = this.opts.instances.describe(e.pid);
        p.instance = this.newInstance(e.pid, t, e.exe, e.cgroup, facts);
        if (facts.unread && (this.opts.instances.envBytes ?? 0) > 0) {
          if (this.rootEnv.size >= 1000) this.rootEnv.delete(this.rootEnv.keys().next().value!);
          this.rootEnv.set(`${e.pid}:${e.gen}`, { instance: p.instance, image: img.node, bytes: [], read: 0 });
        }
        p.cwd = this.procCwd(e.pid) ?? p.cwd;
      }
      this.procs.set(e.pid, p);
      this.join(p);
      this.roots.push(img.node);
      this.out.upsertNode(img.node);
      this.host.onExec(p, img.node, e.exe, t);
    } else {
      this.settleReads(p, () => true);
      const prev = p.image.node;
      prev.end = t;
      // exec replaces every thread; the kernel reports it as the process's main thread.
      const by = this.subject(p, e.tid, t);
      this.out.addEdge('WAS_INFORMED_BY', img.node, by.node, t, t, 1, 0, by.attrs);
      // A new image runs no more of the invocation's handler code: its units end here.
      this.endUnits(p, t);
      p.image = img;
      p.served = 0;
      p.gpuOrdinal = undefined;
      this.host.onExec(p, img.node, e.exe, t);
      for (const [fd, entry] of [...p.fds]) if (entry.cloexec) this.dropFd(p, fd);
    }
    p.images.set(e.gen, img);
    this.associate(p, img, t);
  }

  private procCwd(pid: number): string | undefined {
    try {
      return readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      return undefined;
    }
  }

  private onFork(e: Extract<SensorEvent, { kind: 'fork' }>): void {
    const parent = this.procs.get(e.pid);
    if (!parent) {
      this.stats.unknownProcess++;
      return;
    }
    const t = this.us(e.ts);
    const pn = parent.image.node;
    const img = this.newImage(e.child, 0, t, pn.exe, pn.argv);
    const fds = new Map<number, FdEntry>();
    for (const [fd, entry] of parent.fds) {
      entry.file.refs++;
      fds.set(fd, { ...entry });
    }
    const child: ProcState = {
      pid: e.child, cwd: parent.cwd, image: img, images: new Map([[0, img]]), fds, lastEdge: new Map(), instance: parent.instance, units: new ProcessUnits(),
    };
    if (parent.gpuServer) child.gpuServer = parent.gpuServer;
    this.procs.set(e.child, child);
    this.host.onFork(e.pid, e.child);
    this.join(child);
    // The forking thread's unit, not the process's: a request's subprocess descends from that request.
    const by = this.subject(parent, e.tid, t);
    this.out.addEdge('WAS_INFORMED_BY', img.node, by.node, t, t, 1, 0, by.attrs);
    this.associate(child, img, t);
  }

  private resolve(p: ProcState, dirfd: number, path: string): string {
    if (path.startsWith('/')) return posix.normalize(path);
    let base = p.cwd;
    if (dirfd !== AT_FDCWD) {
      const f = p.fds.get(dirfd)?.file;
      if (f?.kind === 'file') base = f.path;
      else this.stats.unresolvedDirfd++;
    }
    return posix.resolve(base, path);
  }

  /** A file version; on an F3 volume it is keyed by volume and the path inside it, with the volume's tier and node. */
  private fileNode(ref: FileRef, version: number, truncated: boolean): FileNode {
    const v = ref.at;
    if (v) {
      const n: FileNode = {
        id: fileId(v.volume.node, v.path, version, v.volume.id), type: 'File', node: v.volume.node, path: v.path, version,
        volume: v.volume.id, tier: v.volume.tier,
      };
      if (truncated) n.pathTruncated = true;
      return n;
    }
    const n: FileNode = { id: fileId(this.opts.node, ref.path, version), type: 'File', node: this.opts.node, path: ref.path, version };
    if (truncated) n.pathTruncated = true;
    return n;
  }

  /** A new version of path, made at time t: versions only grow. */
  private nextVersion(ref: FileRef, t: number, p: ProcState): number {
    return this.versions.next(ref.key, t, p.instance?.tenant, ref.path);
  }

  private onData(p: ProcState, kind: 'read' | 'write', gen: number, fd: number, t: number, bytes: number, tid?: number): void {
    const img = p.images.get(gen) ?? p.image;
    const entry = p.fds.get(fd);
    if (!entry) {
      this.stats.unattributed++;
      return;
    }
    const f = entry.file;
    // Data written to /dev/null goes nowhere (and the shim's markers go there).
    if (f.kind === 'file' && f.path === '/dev/null') return;
    if (f.kind === 'socket' && f.conn) return this.onConnData(p, f.conn, f.side!, kind, gen, fd, t, bytes, tid, img);
    const s = f.kind === 'socket' ? this.endpointSubject(p, tid, t, f.endpoint, img) : this.subject(p, tid, t, img);
    const subject = s.node;
    let entity: GraphNode;
    let attrs: EdgeAttrs | undefined = s.attrs;
    if (f.kind === 'socket') entity = f.endpoint;
    else if (f.kind === 'pipe') entity = f.pipe;
    else if (kind === 'read') {
      const ref = this.locate(f.path);
      entity = this.currentNode(ref, f.truncated);
      // F3 lets a reader consume a file while its writer still writes.
      const ws = ref.at ? this.writers.get(ref.key) : undefined;
      if (ws && [...ws].some((w) => w !== f)) attrs = { ...attrs, readWhileWrite: true };
    } else {
      const ref = this.locate(f.path);
      let base: FileNode | undefined;
      if (f.writeVersion === undefined || this.versionOf(ref) !== f.writeVersion) {
        // A write that does not replace the whole content extends the version it met: an fd
        // opened without O_TRUNC, or one that wrote before and meets another writer's version.
        const partial = f.keeps === true || f.writeVersion !== undefined;
        if (partial && (this.versions.get(ref.key) !== undefined || f.existed === true)) base = this.currentNode(ref, f.truncated);
        f.writeVersion = this.nextVersion(ref, t, p);
      }
      const made = this.owned(this.fileNode(ref, f.writeVersion, f.truncated), p);
      if (base) this.out.addEdge('WAS_DERIVED_FROM', made, base, t, t, 1, 0);
      entity = made;
      if (made.tier === 'ephemeral' && s.unit) s.unit.ephemeral.set(made.id, { node: made, path: f.path });
    }
    const type = kind === 'read' ? 'USED' : 'WAS_GENERATED_BY';
    const [from, to] = kind === 'read' ? [subject, entity] : [entity, subject];
    this.out.addEdge(type, from, to, t, t, 1, bytes, attrs);
    p.lastEdge.set(lastKey(gen, fd, kind), { type, from, to, first: t });
  }

  /**
   * Data on a connection (connections.ts): the server reads what the client sent and writes what
   * it answers, the client the other way round. A request read before the reading thread's begin
   * marker is held for that unit (request-reads.ts); a relay's forwarded bytes are derivations.
   */
  private onConnData(p: ProcState, c: Conn, side: 'server' | 'client', kind: 'read' | 'write', gen: number, fd: number, t: number, bytes: number, tid: number | undefined, img: Image): void {
    const entity = (side === 'server') === (kind === 'read') ? c.toServer : c.toClient;
    const key = lastKey(gen, fd, kind);
    if (side === 'server' && kind === 'read' && c.serverLast !== 'read' && img === p.image && !p.units.size && !p.served) {
      // A new request read by an image serving no invocation: a relay may forward it (rule 3).
      (p.relay ??= new RelayQueue()).read(c);
    }
    if (kind === 'read' && side === 'server' && img === p.image && tid !== undefined && !p.units.serves(tid)) {
      c.serverLast = 'read';
      // A request read before its begin marker: it belongs to the unit this thread begins next.
      this.settleReads(p, (r) => r.key === `t${tid}` || (r.gen === gen && r.fd === fd));
      (p.pendingReads ??= new Map()).set(`t${tid}`, { key: `t${tid}`, tid, gen, fd, t, bytes, entity });
      return;
    }
    const s = this.subject(p, tid, t, img);
    const relayed = s.unit || img !== p.image ? undefined : this.relayed(p, c, side, kind, t);
    if (side === 'client') c.clientLast = kind;
    else c.serverLast = kind;
    if (relayed) {
      // Forwarded, not made, by this process: derived from what it forwards (rule 3).
      const attrs = relayed.inferred ? { inferred: true } : undefined;
      this.out.addEdge('WAS_DERIVED_FROM', relayed.to, relayed.from, t, t, 1, bytes, attrs);
      p.lastEdge.set(key, { type: 'WAS_DERIVED_FROM', from: relayed.to, to: relayed.from, first: t, attrs });
      return;
    }
    const type = kind === 'read' ? 'USED' : 'WAS_GENERATED_BY';
    const [from, to] = kind === 'read' ? [s.node, entity] : [entity, s.node];
    this.out.addEdge(type, from, to, t, t, 1, bytes, s.attrs);
    p.lastEdge.set(key, { type, from, to, first: t });
  }

  /** Rule 3 of connections.ts: what a relay's operation forwards (to derives from from), if it is one. */
  private relayed(p: ProcState, c: Conn, side: 'server' | 'client', kind: 'read' | 'write', t: number): { to: GraphNode; from: GraphNode; inferred: boolean } | undefined {
    if (side === 'client' && kind === 'write') {
      const f = p.relay?.forward(c);
      if (!f) return undefined;
      if (c.clientLast !== 'write') this.stats.relayedRequests++;
      if (f.inferred) {
        this.stats.connectionsInferred++;
        this.loss('connection-inferred', 1, t, t, CONNECTION_INFERRED);
      }
      return { to: c.toServer, from: f.from.toServer, inferred: f.inferred };
    }
    // The response: read back on the outbound connection, written to the inbound one it answers.
    if (side === 'client' && kind === 'read' && c.forwards) return { to: c.forwards.toClient, from: c.toClient, inferred: false };
    if (side === 'server' && kind === 'write' && c.answeredBy) return { to: c.toClient, from: c.answeredBy.toClient, inferred: false };
    return undefined;
  }

  private addCounters(p: ProcState, c: Omit<CounterDump, 'pid'>, t: number): void {
    this.settleReads(p, (r) => r.gen === c.gen && r.fd === c.fd);
    const f = p.fds.get(c.fd)?.file;
    const sink = f?.kind === 'file' && f.path === '/dev/null';
    for (const [dir, count, bytes] of [['read', c.rc, c.rb], ['write', c.wc, c.wb]] as const) {
      const key = lastKey(c.gen, c.fd, dir);
      const last = p.lastEdge.get(key);
      if (count > 0) {
        if (last) this.out.addEdge(last.type, last.from, last.to, last.first, t, count, bytes, last.attrs);
        else if (!sink) this.stats.unattributed += count;
      }
      p.lastEdge.delete(key);
    }
  }

  /** Counters the kernel flushed (periodically, or at the end for fds never closed). */
  onCounters(dump: CounterDump[], at?: number): void {
    const t = at ?? this.lastEventTime;
    for (const c of dump) {
      const p = this.procs.get(c.pid) ?? this.exited.get(c.pid);
      if (p) this.addCounters(p, c, t);
      else this.stats.unattributed += c.rc + c.wc;
    }
  }


  private onRename(p: ProcState, to: string, truncated: boolean, t: number, tid?: number): void {
    const from = p.renameFrom;
    p.renameFrom = undefined;
    if (!from) return;
    const s = this.subject(p, tid, t);
    const img = s.node;
    const [src, dst] = [this.locate(from.path), this.locate(to)];
    const old = this.currentNode(src, from.truncated);
    this.out.addEdge('USED', img, old, t, t, 1, 0, s.attrs);
    this.versions.delete(src.key);
    const made = this.owned(this.fileNode(dst, this.nextVersion(dst, t, p), truncated), p);
    this.out.addEdge('WAS_GENERATED_BY', made, img, t, t, 1, 0, s.attrs);
    this.out.addEdge('WAS_DERIVED_FROM', made, old, t, t, 1, 0);
    const ws = this.writers.get(src.key);
    if (ws) {
      this.writers.delete(src.key);
      if (dst.at) for (const w of ws) this.writersOf(dst).add(w);
    }
    for (const q of this.procs.values()) {
      for (const { file } of q.fds.values()) {
        if (file.kind === 'file' && file.path === from.path) {
          file.path = to;
          file.writeVersion = undefined;
        }
      }
    }
  }

  private onUnlink(p: ProcState, path: string, truncated: boolean, t: number, tid?: number): void {
    const ref = this.locate(path);
    const current = this.currentNode(ref, truncated);
    const s = this.subject(p, tid, t);
    const gone = s.unit?.ephemeral.get(current.id)?.node ?? current;
    gone.deleted = t;
    this.out.addEdge('WAS_INVALIDATED_BY', gone, s.node, t, t, 1, 0, s.attrs);
    this.versions.delete(ref.key);
  }

  private endpoint(family: number, address: string, port: number): EndpointNode | undefined {
    let addr: string;
    if (family === 1) addr = `unix:${address === '' || address === '-' ? '@' : address}`;
    else if (family === 2 || family === 10) addr = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    else return undefined;
    const ep: EndpointNode = { id: '', type: 'Endpoint', address: addr, port };
    if (family === 1 || isLoopback(addr)) ep.node = this.opts.node;
    ep.id = endpointId(ep.address, ep.port, ep.node);
    return ep;
  }

  private onSocket(p: ProcState, e: Extract<SensorEvent, { kind: 'connect' | 'bind' | 'accept' }>, t: number): void {
    const ep = this.endpoint(e.family, e.address, e.port);
    const scope = p.instance?.id ?? '';
    if (e.kind === 'accept') {
      // accept4(fd, NULL, NULL, ...) (libuv, so every Node server) names no peer (ep undefined).
      const local = p.fds.get(e.lfd)?.file;
      const listening = local?.kind === 'socket' ? local.endpoint : undefined;
      if (!listening && !ep) {
        this.stats.ignoredSockets++;
        return;
      }
      this.stats.accepted++;
      return this.onAccept(p, e.fd, listening, ep, scope, t);
    }
    if (!ep) {
      this.stats.ignoredSockets++;
      return;
    }
    const cloexec = p.fds.get(e.fd)?.cloexec ?? false;
    if (e.kind === 'bind') {
      const s = this.subject(p, e.tid, t);
      // Serving an endpoint is an effect: whoever connects to it depends on this process.
      this.owned(ep, p);
      this.setFd(p, e.fd, { refs: 0, kind: 'socket', endpoint: ep }, cloexec);
      this.out.addEdge('WAS_GENERATED_BY', ep, s.node, t, t, 1, 0, s.attrs);
      this.conns.listen(scope, ep);
      return;
    }
    if (this.opts.gpu?.servers.has(`${ep.address}:${ep.port}`)) {
      // API remoting: this process's CUDA calls now reach a shared GPU server.
      ep.role = 'gpu-server';
      p.gpuServer = `${ep.address}:${ep.port}`;
    } else {
      const role = this.platformRole(p, ep);
      if (role) ep.role = role;
    }
    const s = this.endpointSubject(p, e.tid, t, ep);
    if (!s.unit) this.calls.connect(ep.address, p.instance?.id, s.node, t);
    this.out.addEdge('USED', s.node, ep, t, t, 1, 0, { ...s.attrs, initiated: true });
    // A server watched on this node will accept it: the connection is an entity of its own (connections.ts).
    const conn = this.conns.connect(scope, this.calls.instanceAt(ep.address), ep, () => this.conns.make(p.pid, e.fd, t, ep, p.instance?.tenant), t);
    if (conn) {
      this.out.upsertNode(conn.toServer);
      this.out.upsertNode(conn.toClient);
    }
    this.setFd(p, e.fd, conn ? { refs: 0, kind: 'socket', endpoint: ep, conn, side: 'client' } : { refs: 0, kind: 'socket', endpoint: ep }, cloexec);
  }

  /**
   * Which of the platform's endpoints a connect from p reaches (platform-endpoints.ts): the
   * telemetry receiver its instance's environment names, or the agent's own from the host's
   * namespace; the gateway its instance's environment names.
   */
  private platformRole(p: ProcState, ep: EndpointNode): 'telemetry' | 'gateway' | undefined {
    const key = endpointKey(ep.address, ep.port);
    const named = p.instance ? this.platform.get(p.instance.id) : undefined;
    if (named?.telemetry.has(key) || (!p.instance?.addresses?.length && this.opts.telemetry?.has(key))) return 'telemetry';
    return named?.gateway.has(key) ? 'gateway' : undefined;
  }

  /**
   * An accepted connection (connections.ts, rules 1 and 2): the connect a watched client made to
   * it, else a new one; no edge yet, the data on it makes them.
   */
  private onAccept(p: ProcState, fd: number, listening: EndpointNode | undefined, peer: EndpointNode | undefined, scope: string, t: number): void {
    if (listening) this.conns.listen(scope, listening);
    const m = listening ? this.conns.accept(scope, listening, t) : { inferred: false };
    const conn = m.conn ?? this.conns.make(p.pid, fd, t, listening, p.instance?.tenant, peer ? hostPort(peer) : undefined);
    if (m.conn && peer) conn.toServer.client = conn.toClient.client = hostPort(peer);
    if (m.inferred) {
      conn.toServer.matchInferred = conn.toClient.matchInferred = true;
      this.stats.connectionsInferred++;
      this.loss('connection-inferred', 1, t, t, CONNECTION_INFERRED);
    }
    this.out.upsertNode(conn.toServer);
    this.out.upsertNode(conn.toClient);
    this.setFd(p, fd, { refs: 0, kind: 'socket', endpoint: (listening ?? peer)!, conn, side: 'server' }, false);
  }

  private onPipe(p: ProcState, socketpair: boolean, rfd: number, wfd: number, t: number): void {
    const pipe: PipeNode = {
      id: pipeId(this.opts.node, p.pid, t, Math.min(rfd, wfd)),
      type: 'Pipe',
      node: this.opts.node,
      kind: socketpair ? 'socketpair' : 'pipe',
      pid: p.pid,
      created: t,
      fd: Math.min(rfd, wfd),
    };
    this.owned(pipe, p);
    this.out.upsertNode(pipe);
    const file: OpenFile = { refs: 0, kind: 'pipe', pipe };
    this.setFd(p, rfd, file, false);
    this.setFd(p, wfd, file, false);
  }

  /** chmod and truncate make a new version of the file, with no bytes; chmod's keeps the content (derived). */
  private onModify(p: ProcState, path: string, truncated: boolean, t: number, tid?: number, keepsContent = false): void {
    const ref = this.locate(path);
    const base = keepsContent ? this.currentNode(ref, truncated) : undefined;
    const f = this.owned(this.fileNode(ref, this.nextVersion(ref, t, p), truncated), p);
    const s = this.subject(p, tid, t);
    this.out.addEdge('WAS_GENERATED_BY', f, s.node, t, t, 1, 0, s.attrs);
    if (base) this.out.addEdge('WAS_DERIVED_FROM', f, base, t, t, 1, 0);
    for (const q of this.procs.values()) {
      for (const { file } of q.fds.values()) if (file.kind === 'file' && file.path === path) file.writeVersion = undefined;
    }
  }

  /** Tracked processes alive now, with the start of their current image (their Process id's key). */
  liveProcesses(): { pid: number; start: number }[] {
    return [...this.procs.values()].map((p) => ({ pid: p.pid, start: p.image.node.start }));
  }

  /** The instances alive now (a gap may concern any of them). */
  liveInstances(): InstanceNode[] {
    return [...this.live.values()].map((l) => l.node);
  }

  /** Records lost capture as a Gap node: loss is data. */
  private gapSeq = Date.now() * 1000;
  private readonly losses = new Map<string, { count: number; from: number; to: number; detail?: string }>();

  /** Adds to the loss of one cause; flushLosses makes one Gap of each cause's total. */
  loss(cause: string, count: number, from: number, to: number, detail?: string): void {
    const l = this.losses.get(cause);
    if (l) {
      l.count += count;
      l.from = Math.min(l.from, from);
      l.to = Math.max(l.to, to);
    } else this.losses.set(cause, { count, from, to, detail });
  }

  /**
   * Charges held request reads by the usual rules (request-reads.ts): those older than
   * REQUEST_READ_WAIT_US of event time, or all of them when capture stops (all = true).
   */
  settlePendingReads(all = false): void {
    for (const p of [...this.procs.values(), ...this.exited.values()]) {
      this.settleReads(p, (r) => all || this.lastEventTime - r.t > REQUEST_READ_WAIT_US);
    }
  }

  private settleReads(p: ProcState, which: (r: PendingRead) => boolean): void {
    if (!p.pendingReads?.size) return;
    for (const r of [...p.pendingReads.values()]) {
      if (!which(r)) continue;
      p.pendingReads.delete(r.key);
      this.settleRead(p, r);
    }
  }

  /** A held read no begin marker claimed: charged as it would have been when it happened. */
  private settleRead(p: ProcState, r: PendingRead): void {
    const img = p.images.get(r.gen) ?? p.image;
    const s = this.subject(p, r.tid, r.t, img);
    this.out.addEdge('USED', s.node, r.entity, r.t, r.t, 1, r.bytes, s.attrs);
    p.lastEdge.set(lastKey(r.gen, r.fd, 'read'), { type: 'USED', from: s.node, to: r.entity, first: r.t });
  }

  flushLosses(): void {
    this.settlePendingReads();
    for (const [cause, l] of this.losses) this.gap(cause, l.count, l.from, l.to, l.detail);
    this.losses.clear();
  }

  gap(cause: string, count: number, from: number, to: number, detail?: string): GapNode {
    const seq = this.gapSeq++;
    const g: GapNode = { id: gapId(this.opts.agent, cause, from, seq), type: 'Gap', agent: this.opts.agent, cause, from, to: Math.max(from, to), count, seq };
    if (detail) g.detail = detail.slice(0, 1024);
    this.out.upsertNode(g);
    for (const i of this.liveInstances()) this.out.addEdge('WAS_ATTRIBUTED_TO', g, i, g.from, g.to, 1, 0);
    this.stats.gaps++;
    return g;
  }
}
