import { posix } from 'node:path';
import {
  MAX_ENV_VALUE, MAX_ENV_VARS, endpointId, globMatcher,
  type EdgeAttrs, type EndpointNode, type FileNode, type ProcessNode, type UnitNode,
} from '@faasprov/model';
import type { SensorEvent } from '../sensor/events.js';
import type { GraphBuffer } from './graph-buffer.js';
import type { ObserverStats } from './metrics.js';

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_CREAT = 0x40;
const O_TRUNC = 0x200;
const O_PATH = 0x200000;
const MFD_CLOEXEC = 1;
const AF_PACKET = 17;
const AF_INET6 = 10;
/** How the kernel names what exec ran when it came through an fd (execveat with AT_EMPTY_PATH, /proc/self/fd/N). */
const EXEC_FD = /^\/(?:proc\/(self|\d+)\/fd|dev\/fd)\/(\d+)$/;
/** Variables whose values are never kept, only their presence. */
const SECRET_NAME = /SECRET|TOKEN|PASSW|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH/i;
const MAX_PENDING = 10_000;
/**
 * The C library's locale and loader caches: every program opens and maps them read-only (mmap
 * without PROT_EXEC is no read the sensor sees), so an open-only edge to them says nothing about
 * the program. Their opens make no edge (counted as opensQuiet); a read or write still does.
 */
const QUIET_OPENS = /^\/(?:usr\/lib\/locale\/|usr\/share\/locale\/|usr\/lib\/[^/]+\/gconv\/|etc\/ld\.so\.cache$)/;

/** The parts of the observer's state the host operations use (observer.ts builds it). */
export interface HostFile {
  refs: number;
  kind: 'file';
  path: string;
  truncated: boolean;
  writeVersion?: number;
  writer?: boolean;
  /** Opened without O_TRUNC: a write keeps part of the content it meets (append, partial overwrite). */
  keeps?: boolean;
  /** Opened without O_CREAT: the file existed, so its content before capture is real. */
  existed?: boolean;
}
export interface HostProc {
  pid: number;
  image: { gen: number; node: ProcessNode };
  images: Map<number, { gen: number; node: ProcessNode }>;
  fds: Map<number, { file: HostFile | { kind: 'socket' | 'pipe' } }>;
}
export interface HostRef {
  path: string;
  key: string;
}
export interface HostContext<P extends HostProc, R extends HostRef> {
  node: string;
  out: GraphBuffer;
  stats: ObserverStats;
  process(pid: number): P | undefined;
  /** Who did it (the unit the thread serves, else the image), and attrs when that was inferred. */
  subject(p: P, tid: number | undefined, t: number): { node: ProcessNode | UnitNode; attrs?: EdgeAttrs };
  resolve(p: P, dirfd: number, path: string): string;
  locate(path: string): R;
  fileNode(ref: R, version: number, truncated: boolean): FileNode;
  /** The version a read meets (with the tenant whose write made it). */
  currentNode(ref: R, truncated: boolean): FileNode;
  versionOf(ref: R): number;
  nextVersion(ref: R, t: number, p: P): number;
  /** The version a write through this description extends (not replaces), if any. */
  baseOf(ref: R, file: HostFile): FileNode | undefined;
  dropVersion(ref: R): void;
  owned<T extends { tenant?: string }>(n: T, p: P): T;
  setFile(p: P, fd: number, file: HostFile, cloexec: boolean): void;
  setEndpoint(p: P, fd: number, endpoint: EndpointNode): void;
}

export interface HostOptions {
  /** Globs of sensitive paths: a failed open of one is kept as an attempt (a USED edge with rc). */
  attemptPaths?: string[];
  /** Environment variables kept from each exec (the rules name them). */
  execEnv?: string[];
  /** How many bytes of the environment the sensor reads (more is marked envTruncated). */
  envBytes?: number;
}

export type HostEvent = Extract<
  SensorEvent,
  { kind: 'open-failed' | 'mkdir' | 'rmdir' | 'link-from' | 'link-to' | 'namespace' | 'raw-socket' | 'userfaultfd' | 'memfd' | 'pidfd' | 'pidfd-signal' | 'exec-env' }
>;

/**
 * What an attacker does on a host beyond reads and writes: opens as provenance (and failed opens of
 * sensitive paths as attempts), directories, links, namespaces, raw sockets, userfaultfd, memfd and
 * fileless exec, pidfd signals, ptrace, and the exec's named environment variables. One module of
 * the observer, working on its state through HostContext.
 */
export class HostOps<P extends HostProc, R extends HostRef> {
  private readonly attempt: ((path: string) => boolean) | undefined;
  private readonly envNames: ReadonlySet<string>;
  /** link-from waits for its link-to (same thread, printed in order), like rename. */
  private readonly linkFrom = new Map<number, { path: string; dirfd: number; truncated: boolean }>();
  /** pidfd_open's fds: pid:fd → target pid (a pidfd is only signalled while open, so a stale entry is never used). */
  private readonly pidfds = new Map<string, number>();
  /** Who forked whom: PTRACE_TRACEME makes the parent the tracer. */
  private readonly parents = new Map<number, number>();
  /** Environment chunks of an exec, by pid:gen, until the last one. */
  private readonly env = new Map<string, Buffer>();

  constructor(private readonly ctx: HostContext<P, R>, private readonly opts: HostOptions = {}) {
    this.attempt = opts.attemptPaths?.length ? globMatcher(opts.attemptPaths) : undefined;
    this.envNames = new Set(opts.execEnv ?? []);
  }

  handle(p: P, e: HostEvent, t: number): void {
    const c = this.ctx;
    switch (e.kind) {
      case 'open-failed':
        return this.onFailedOpen(p, e, t);
      case 'mkdir': {
        const ref = c.locate(c.resolve(p, e.dirfd, e.path));
        const dir = c.owned(c.fileNode(ref, c.nextVersion(ref, t, p), e.truncated), p);
        dir.fileType = 'directory';
        const s = c.subject(p, e.tid, t);
        c.out.addEdge('WAS_GENERATED_BY', dir, s.node, t, t, 1, 0, s.attrs);
        return;
      }
      case 'rmdir': {
        const ref = c.locate(c.resolve(p, e.dirfd, e.path));
        const dir = c.currentNode(ref, e.truncated);
        Object.assign(dir, { fileType: 'directory', deleted: t });
        const s = c.subject(p, e.tid, t);
        c.out.addEdge('WAS_INVALIDATED_BY', dir, s.node, t, t, 1, 0, s.attrs);
        c.dropVersion(ref);
        return;
      }
      case 'link-from':
        this.linkFrom.set(p.pid, { path: e.path, dirfd: e.dirfd, truncated: e.truncated });
        return;
      case 'link-to':
        return this.onLink(p, e, t);
      case 'namespace': {
        const n = p.image.node;
        Object.assign(n, { nsChanged: t, nsFlags: e.flags });
        c.out.upsertNode(n);
        return;
      }
      case 'raw-socket': {
        const packet = e.family === AF_PACKET;
        // AF_PACKET's protocol is an Ethernet type in network byte order.
        const proto = packet ? ((e.protocol & 0xff) << 8) | ((e.protocol >> 8) & 0xff) : e.protocol & 0xffff;
        const address = packet ? 'packet' : e.family === AF_INET6 ? 'raw:inet6' : 'raw:inet';
        const ep: EndpointNode = { id: endpointId(address, proto, c.node), type: 'Endpoint', address, port: proto, node: c.node, socketKind: packet ? 'packet' : 'raw' };
        c.setEndpoint(p, e.fd, ep);
        const s = c.subject(p, e.tid, t);
        c.out.addEdge('USED', s.node, ep, t, t, 1, 0, s.attrs);
        return;
      }
      case 'userfaultfd': {
        const path = 'anon_inode:[userfaultfd]';
        c.setFile(p, e.fd, { refs: 0, kind: 'file', path, truncated: false }, false);
        const s = c.subject(p, e.tid, t);
        c.out.addEdge('USED', s.node, c.fileNode(c.locate(path), 0, false), t, t, 1, 0, { ...s.attrs, openFlags: e.flags });
        return;
      }
      case 'memfd': {
        // An in-memory file: its writes make its content, an exec of /proc/self/fd/N runs it.
        const path = `memfd:${e.name}`;
        const ref = c.locate(path);
        const v = c.nextVersion(ref, t, p);
        c.setFile(p, e.fd, { refs: 0, kind: 'file', path, truncated: false, writeVersion: v }, (e.flags & MFD_CLOEXEC) !== 0);
        const made = c.owned(c.fileNode(ref, v, false), p);
        made.fileType = 'memfd';
        const s = c.subject(p, e.tid, t);
        c.out.addEdge('WAS_GENERATED_BY', made, s.node, t, t, 1, 0, s.attrs);
        return;
      }
      case 'pidfd':
        if (this.pidfds.size >= MAX_PENDING) this.pidfds.clear();
        this.pidfds.set(`${p.pid}:${e.fd}`, e.target);
        return;
      case 'pidfd-signal':
        return this.signal(p, e.tid, this.pidfds.get(`${p.pid}:${e.pidfd}`), t, { signal: e.signal });
      case 'exec-env':
        return this.onEnv(p, e);
    }
  }

  /** A successful open is an edge: USED for read access, WAS_GENERATED_BY (a new version) for write, create or truncate. */
  onOpen(p: P, tid: number | undefined, file: HostFile, flags: number, t: number): void {
    if (file.path === '/dev/null' || (flags & O_PATH) !== 0) return;
    const write = (flags & O_ACCMODE) === O_WRONLY || (flags & (O_CREAT | O_TRUNC)) !== 0;
    if (!write && QUIET_OPENS.test(file.path)) {
      this.ctx.stats.opensQuiet++;
      return;
    }
    const c = this.ctx;
    const ref = c.locate(file.path);
    const s = c.subject(p, tid, t);
    if (write) {
      // The description's later writes fill this version (observer's onData keeps it); one that
      // keeps content (no O_TRUNC) extends the version it met.
      const base = c.baseOf(ref, file);
      file.writeVersion = c.nextVersion(ref, t, p);
      const made = c.owned(c.fileNode(ref, file.writeVersion, file.truncated), p);
      if (base) c.out.addEdge('WAS_DERIVED_FROM', made, base, t, t, 1, 0);
      c.out.addEdge('WAS_GENERATED_BY', made, s.node, t, t, 1, 0, { ...s.attrs, openFlags: flags });
    } else {
      // Read access (O_RDWR too: a version is made only when a write happens).
      c.out.addEdge('USED', s.node, c.currentNode(ref, file.truncated), t, t, 1, 0, { ...s.attrs, openFlags: flags });
    }
  }

  private onFailedOpen(p: P, e: Extract<HostEvent, { kind: 'open-failed' }>, t: number): void {
    const c = this.ctx;
    const path = c.resolve(p, e.dirfd, e.path);
    // The kernel compares 8 bytes of a prefix; the whole glob decides.
    if (this.attempt && !this.attempt(path)) {
      c.stats.attemptsIgnored++;
      return;
    }
    const s = c.subject(p, e.tid, t);
    c.out.addEdge('USED', s.node, c.currentNode(c.locate(path), e.truncated), t, t, 1, 0, { ...s.attrs, openFlags: e.flags, rc: e.rc });
  }

  /** A new name: a hard link names the same content (USED, then the new name's version); a symlink holds its target. */
  private onLink(p: P, e: Extract<HostEvent, { kind: 'link-from' | 'link-to' }>, t: number): void {
    const from = this.linkFrom.get(p.pid);
    this.linkFrom.delete(p.pid);
    if (!from) return;
    const c = this.ctx;
    const name = c.resolve(p, e.dirfd, e.path);
    const s = c.subject(p, e.tid, t);
    const dst = c.locate(name);
    const made = c.owned(c.fileNode(dst, c.nextVersion(dst, t, p), e.truncated), p);
    if (e.symbolic) {
      // A relative target is relative to the link's directory.
      made.linkTarget = from.path.startsWith('/') ? posix.normalize(from.path) : posix.resolve(posix.dirname(name), from.path);
      made.fileType = 'symlink';
    } else {
      const src = c.locate(c.resolve(p, from.dirfd, from.path));
      const old = c.currentNode(src, from.truncated);
      c.out.addEdge('USED', s.node, old, t, t, 1, 0, s.attrs);
      c.out.addEdge('WAS_DERIVED_FROM', made, old, t, t, 1, 0);
      made.linkTarget = src.path;
      made.fileType = 'hardlink';
    }
    c.out.addEdge('WAS_GENERATED_BY', made, s.node, t, t, 1, 0, s.attrs);
  }

  /** Before a new image replaces the old (its fds still open): what it runs, an fd's file when exec came through one. */
  onExec(p: P, img: ProcessNode, exe: string, t: number): void {
    const c = this.ctx;
    const m = EXEC_FD.exec(exe);
    let entity: FileNode | undefined;
    if (m) {
      const owner = m[1] === undefined || m[1] === 'self' ? p : c.process(Number(m[1]));
      const f = owner?.fds.get(Number(m[2]))?.file;
      if (f?.kind === 'file') {
        const ref = c.locate(f.path);
        entity = f.writeVersion !== undefined ? c.fileNode(ref, f.writeVersion, f.truncated) : c.currentNode(ref, f.truncated);
        if (f.path.startsWith('memfd:')) entity.fileType = 'memfd';
      } else c.stats.unattributed++;
    } else {
      entity = c.currentNode(c.locate(c.resolve(p, -100, exe)), false);
    }
    if (entity) c.out.addEdge('USED', img, entity, t, t, 1, 0, { exec: true });
  }

  onFork(parent: number, child: number): void {
    if (this.parents.size >= MAX_PENDING) this.parents.clear();
    this.parents.set(child, parent);
  }

  /** kill, tgkill, pidfd_send_signal and ptrace: the target WAS_INFORMED_BY the sender (the target's main thread stands for it). */
  signal(p: P, tid: number | undefined, targetPid: number | undefined, t: number, attrs: EdgeAttrs): void {
    const c = this.ctx;
    if (attrs.ptrace === 0) {
      // PTRACE_TRACEME: the parent becomes the tracer.
      const n = p.image.node;
      n.traceme = t;
      c.out.upsertNode(n);
      const parentPid = this.parents.get(p.pid);
      const parent = parentPid === undefined ? undefined : c.process(parentPid);
      if (parent) {
        const [by, to] = [c.subject(p, tid, t), c.subject(parent, parent.pid, t)];
        c.out.addEdge('WAS_INFORMED_BY', by.node, to.node, t, t, 1, 0, by.attrs || to.attrs ? { ...attrs, inferred: true } : attrs);
      }
      return;
    }
    const target = targetPid === undefined ? undefined : c.process(targetPid);
    if (!target) {
      c.stats.untrackedTarget++;
      return;
    }
    const [to, by] = [c.subject(target, target.pid, t), c.subject(p, tid, t)];
    c.out.addEdge('WAS_INFORMED_BY', to.node, by.node, t, t, 1, 0, to.attrs || by.attrs ? { ...attrs, inferred: true } : attrs);
  }

  /** Keeps the named variables of an exec's environment (values of secret-looking names redacted). */
  private onEnv(p: P, e: Extract<HostEvent, { kind: 'exec-env' }>): void {
    const img = p.images.get(e.gen);
    const key = `${p.pid}:${e.gen}`;
    if (!img || this.envNames.size === 0) {
      this.env.delete(key);
      return;
    }
    // A new root's exec prints more than the rules ask (observer.ts onRootEnv): what lies past envBytes is not this module's.
    if (e.offset >= (this.opts.envBytes ?? Infinity)) return;
    const sofar = e.offset === 0 ? e.bytes : Buffer.concat([this.env.get(key) ?? Buffer.alloc(0), e.bytes]);
    const end = e.offset + e.bytes.length;
    const last = end >= e.total || end >= (this.opts.envBytes ?? Infinity);
    if (!last) {
      if (this.env.size >= MAX_PENDING) this.env.clear();
      this.env.set(key, sofar);
      return;
    }
    this.env.delete(key);
    const vars = sofar.toString('utf8').split('\0');
    // An entry cut by the end of what was read is incomplete: dropped, and the image says so.
    if (end < e.total) vars.pop();
    const kept: string[] = [];
    for (const v of vars) {
      const eq = v.indexOf('=');
      const name = eq < 0 ? v : v.slice(0, eq);
      if (!this.envNames.has(name) || kept.length >= MAX_ENV_VARS) continue;
      kept.push(`${name}=${SECRET_NAME.test(name) ? '<redacted>' : v.slice(eq + 1, eq + 1 + MAX_ENV_VALUE)}`);
    }
    const n = img.node;
    if (kept.length > 0) n.env = kept;
    if (end < e.total) n.envTruncated = true;
    if (kept.length > 0 || end < e.total) this.ctx.out.upsertNode(n);
  }
}
