import { readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import {
  endpointId,
  fileId,
  gapId,
  instanceId,
  isLoopback,
  pipeId,
  processId,
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

const AT_FDCWD = -100;
const O_CLOEXEC = 0x80000;

/** An open file description: shared by dup'ed and inherited fds, like the kernel's. */
type OpenFile =
  | { kind: 'file'; path: string; truncated: boolean; writeVersion?: number }
  | { kind: 'socket'; endpoint: EndpointNode }
  | { kind: 'pipe'; pipe: PipeNode };

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
  lastEdge: Map<string, { type: 'USED' | 'WAS_GENERATED_BY'; from: GraphNode; to: GraphNode; first: number }>;
  renameFrom?: { path: string; truncated: boolean };
  instance?: InstanceNode;
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
}

export interface ObserverOptions {
  node: string;
  agent: string;
  /** Kernel monotonic ns + offset = Unix epoch ns. */
  clockOffsetNs: bigint;
  /** The working directory and open fds the root process starts with. */
  rootCwd: string;
  rootFds?: Map<number, string>;
  /** Daemon mode: every tracked root is a function instance, described by this lookup. */
  instances?: { mode: string; describe(pid: number): InstanceFacts };
}

/**
 * Turns the ordered syscall stream into provenance: processes (one node per image), their fd
 * tables (inherited across fork and exec), file versions and endpoints.
 */
export class Observer {
  private readonly procs = new Map<number, ProcState>();
  private readonly versions = new Map<string, number>();
  /** Exited processes stay reachable for the counters the kernel dumps at the end. */
  private readonly exited = new Map<number, ProcState>();
  readonly stats = new ObserverStats();
  private lastTs = 0n;

  constructor(private readonly opts: ObserverOptions, private readonly out: GraphBuffer) {}

  us(ts: bigint): number {
    return Number((ts + this.opts.clockOffsetNs) / 1000n);
  }

  get lastEventTime(): number {
    return this.lastTs === 0n ? Date.now() * 1000 : this.us(this.lastTs);
  }

  /** Root processes seen so far (their first image). */
  roots: ProcessNode[] = [];
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
        const n = p.image.node;
        n.end = t;
        n.exitCode = e.code & 0x7f ? 128 + (e.code & 0x7f) : (e.code >> 8) & 0xff;
        this.out.upsertNode(n);
        this.procs.delete(e.pid);
        this.leave(p);
        this.exited.set(e.pid, p);
        if (this.exited.size > 10000) this.exited.delete(this.exited.keys().next().value!);
        return;
      }
      case 'open': {
        const path = this.resolve(p, e.dirfd, e.path);
        p.fds.set(e.fd, { file: { kind: 'file', path, truncated: e.truncated }, cloexec: (e.flags & O_CLOEXEC) !== 0 });
        return;
      }
      case 'read':
      case 'write':
        return this.onData(p, e.kind, e.gen, e.fd, t, e.bytes);
      case 'close':
      case 'flush':
        this.addCounters(p, e, t);
        if (e.kind === 'close') p.fds.delete(e.fd);
        return;
      case 'dup': {
        const src = p.fds.get(e.oldfd);
        if (src) p.fds.set(e.newfd, { file: src.file, cloexec: e.cloexec });
        else p.fds.delete(e.newfd);
        return;
      }
      case 'close-range': {
        const last = e.last < 0 ? Number.MAX_SAFE_INTEGER : e.last;
        for (const fd of [...p.fds.keys()]) if (fd >= e.first && fd <= last) p.fds.delete(fd);
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
        return this.onRename(p, this.resolve(p, e.dirfd, e.path), e.truncated, t);
      case 'unlink':
        return this.onUnlink(p, this.resolve(p, e.dirfd, e.path), e.truncated, t);
      case 'connect':
      case 'bind':
      case 'accept':
        return this.onSocket(p, e, t);
      case 'pipe':
        return this.onPipe(p, e.socketpair, e.rfd, e.wfd, t);
      case 'mmap-exec': {
        const f = p.fds.get(e.fd)?.file;
        const img = p.images.get(e.gen) ?? p.image;
        if (f?.kind === 'file') this.out.addEdge('USED', img.node, this.fileNode(f.path, this.versions.get(f.path) ?? 0, f.truncated), t, t, 1, 0);
        else this.stats.unattributed++;
        return;
      }
      case 'setid': {
        const n = p.image.node;
        Object.assign(n, { uid: e.uid, euid: e.euid, gid: e.gid, egid: e.egid, credChanged: t });
        this.out.upsertNode(n);
        return;
      }
      case 'kill':
      case 'ptrace': {
        const target = this.procs.get(e.target);
        if (target) this.out.addEdge('WAS_INFORMED_BY', target.image.node, p.image.node, t, t, 1, 0);
        else this.stats.untrackedTarget++;
        return;
      }
      case 'chmod':
      case 'truncate':
        return this.onModify(p, this.resolve(p, e.dirfd, e.path), e.truncated, t);
      case 'fchmod':
      case 'ftruncate': {
        const f = p.fds.get(e.fd)?.file;
        if (f?.kind === 'file') this.onModify(p, f.path, f.truncated, t);
        else this.stats.unattributed++;
        return;
      }
    }
  }

  private newImage(pid: number, gen: number, start: number, exe: string, argv: string[]): Image {
    const node: ProcessNode = { id: processId(this.opts.node, pid, start), type: 'Process', node: this.opts.node, pid, start, exe, argv };
    return { gen, node };
  }

  private associate(p: ProcState, img: Image, t: number): void {
    if (!p.instance) return;
    if (p.instance.tenant) img.node.tenant = p.instance.tenant;
    this.out.addEdge('WAS_ASSOCIATED_WITH', img.node, p.instance, t, t, 1, 0);
  }

  /** What a tenant's process makes (file versions, served endpoints, pipes) belongs to that tenant. */
  private owned<T extends { tenant?: string }>(n: T, p: ProcState): T {
    if (p.instance?.tenant) n.tenant = p.instance.tenant;
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
    this.out.upsertNode(n);
    return n;
  }

  /** Adopts a process that ran before capture started (parents before children). */
  seed(s: SeedProcess): void {
    const img = this.newImage(s.pid, 0, s.start, s.exe, s.argv);
    if (s.uid !== undefined) img.node.uid = s.uid;
    if (s.euid !== undefined) img.node.euid = s.euid;
    const parent = this.procs.get(s.ppid);
    const fds = new Map<number, FdEntry>();
    for (const [fd, target] of s.fds) fds.set(fd, { file: { kind: 'file', path: target, truncated: false }, cloexec: false });
    const p: ProcState = { pid: s.pid, cwd: s.cwd, image: img, images: new Map([[0, img]]), fds, lastEdge: new Map() };
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
        fds.set(fd, { file: { kind: 'file', path: target, truncated: false }, cloexec: false });
      }
      p = { pid: e.pid, cwd: this.opts.rootCwd, image: img, images: new Map(), fds, lastEdge: new Map() };
      if (this.opts.instances) {
        p.instance = this.newInstance(e.pid, t, e.exe, e.cgroup, this.opts.instances.describe(e.pid));
        p.cwd = this.procCwd(e.pid) ?? p.cwd;
      }
      this.procs.set(e.pid, p);
      this.join(p);
      this.roots.push(img.node);
      this.out.upsertNode(img.node);
    } else {
      const prev = p.image.node;
      prev.end = t;
      this.out.addEdge('WAS_INFORMED_BY', img.node, prev, t, t, 1, 0);
      p.image = img;
      for (const [fd, entry] of [...p.fds]) if (entry.cloexec) p.fds.delete(fd);
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
    for (const [fd, entry] of parent.fds) fds.set(fd, { ...entry });
    const child: ProcState = { pid: e.child, cwd: parent.cwd, image: img, images: new Map([[0, img]]), fds, lastEdge: new Map(), instance: parent.instance };
    this.procs.set(e.child, child);
    this.join(child);
    this.out.addEdge('WAS_INFORMED_BY', img.node, pn, t, t, 1, 0);
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

  private fileNode(path: string, version: number, truncated: boolean): FileNode {
    const n: FileNode = { id: fileId(this.opts.node, path, version), type: 'File', node: this.opts.node, path, version };
    if (truncated) n.pathTruncated = true;
    return n;
  }

  /** A new version of path, made at time t: versions only grow. */
  private nextVersion(path: string, t: number): number {
    const v = Math.max(t, (this.versions.get(path) ?? 0) + 1);
    this.versions.set(path, v);
    return v;
  }

  private onData(p: ProcState, kind: 'read' | 'write', gen: number, fd: number, t: number, bytes: number): void {
    const img = p.images.get(gen) ?? p.image;
    const entry = p.fds.get(fd);
    if (!entry) {
      this.stats.unattributed++;
      return;
    }
    const f = entry.file;
    let entity: GraphNode;
    if (f.kind === 'socket') entity = f.endpoint;
    else if (f.kind === 'pipe') entity = f.pipe;
    else if (kind === 'read') entity = this.fileNode(f.path, this.versions.get(f.path) ?? 0, f.truncated);
    else {
      if (f.writeVersion === undefined || this.versions.get(f.path) !== f.writeVersion) {
        f.writeVersion = this.nextVersion(f.path, t);
      }
      entity = this.owned(this.fileNode(f.path, f.writeVersion, f.truncated), p);
    }
    const type = kind === 'read' ? 'USED' : 'WAS_GENERATED_BY';
    const [from, to] = kind === 'read' ? [img.node, entity] : [entity, img.node];
    this.out.addEdge(type, from, to, t, t, 1, bytes);
    p.lastEdge.set(`${gen},${fd},${kind}`, { type, from, to, first: t });
  }

  private addCounters(p: ProcState, c: Omit<CounterDump, 'pid'>, t: number): void {
    for (const [dir, count, bytes] of [['read', c.rc, c.rb], ['write', c.wc, c.wb]] as const) {
      const key = `${c.gen},${c.fd},${dir}`;
      const last = p.lastEdge.get(key);
      if (count > 0) {
        if (last) this.out.addEdge(last.type, last.from, last.to, last.first, t, count, bytes);
        else this.stats.unattributed += count;
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


  private onRename(p: ProcState, to: string, truncated: boolean, t: number): void {
    const from = p.renameFrom;
    p.renameFrom = undefined;
    if (!from) return;
    const img = p.image.node;
    const old = this.fileNode(from.path, this.versions.get(from.path) ?? 0, from.truncated);
    this.out.addEdge('USED', img, old, t, t, 1, 0);
    this.versions.delete(from.path);
    const made = this.owned(this.fileNode(to, this.nextVersion(to, t), truncated), p);
    this.out.addEdge('WAS_GENERATED_BY', made, img, t, t, 1, 0);
    for (const q of this.procs.values()) {
      for (const { file } of q.fds.values()) {
        if (file.kind === 'file' && file.path === from.path) {
          file.path = to;
          file.writeVersion = undefined;
        }
      }
    }
  }

  private onUnlink(p: ProcState, path: string, truncated: boolean, t: number): void {
    const gone = this.fileNode(path, this.versions.get(path) ?? 0, truncated);
    gone.deleted = t;
    this.out.addEdge('WAS_INVALIDATED_BY', gone, p.image.node, t, t, 1, 0);
    this.versions.delete(path);
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
    if (!ep) {
      this.stats.ignoredSockets++;
      return;
    }
    const cloexec = p.fds.get(e.fd)?.cloexec ?? false;
    if (e.kind === 'bind') {
      // Serving an endpoint is an effect: whoever connects to it depends on this process.
      this.owned(ep, p);
      p.fds.set(e.fd, { file: { kind: 'socket', endpoint: ep }, cloexec });
      this.out.addEdge('WAS_GENERATED_BY', ep, p.image.node, t, t, 1, 0);
      return;
    }
    this.out.addEdge('USED', p.image.node, ep, t, t, 1, 0);
    if (e.kind === 'accept') {
      this.stats.accepted++;
      // Data on an accepted socket meets the client's data at the served (bound) endpoint.
      const local = p.fds.get(e.lfd)?.file;
      p.fds.set(e.fd, { file: { kind: 'socket', endpoint: local?.kind === 'socket' ? local.endpoint : ep }, cloexec: false });
    } else {
      p.fds.set(e.fd, { file: { kind: 'socket', endpoint: ep }, cloexec });
    }
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
    const file: OpenFile = { kind: 'pipe', pipe };
    p.fds.set(rfd, { file, cloexec: false });
    p.fds.set(wfd, { file, cloexec: false });
  }

  /** chmod and truncate make a new version of the file, with no bytes. */
  private onModify(p: ProcState, path: string, truncated: boolean, t: number): void {
    const f = this.owned(this.fileNode(path, this.nextVersion(path, t), truncated), p);
    this.out.addEdge('WAS_GENERATED_BY', f, p.image.node, t, t, 1, 0);
    for (const q of this.procs.values()) {
      for (const { file } of q.fds.values()) if (file.kind === 'file' && file.path === path) file.writeVersion = undefined;
    }
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

  flushLosses(): void {
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
