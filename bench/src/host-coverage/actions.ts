import type { AlertNode, EdgeAttrs, EndpointNode, FileNode, GraphEdge, GraphNode, ProcessNode, SerializedGraph } from '@faasprov/model';

/**
 * The coverage suite's table: each attacker-like action of bench/fixtures/coverage_actions.py
 * with the artifact it must leave in the graph (node, edge, attributes, the process that did it)
 * and the alert the shipped rules must raise on it, written from the action's source.
 */
export interface CoverageRun {
  graph: SerializedGraph;
  alerts: AlertNode[];
  /** The process each action ran in, and its exit code (from the fixture's manifest). */
  manifest: Record<string, { pid: number; code: number }>;
  /** The actions' working directory. */
  dir: string;
  /** The loopback TCP server's port and the unix socket's path. */
  port: number;
  unixSocket: string;
}

export interface CoverageAction {
  id: string;
  what: string;
  /** The alert rule the action must raise (its subject or object a process of the action), if any. */
  alert?: string;
  /** undefined when the artifact is there, else what is missing. */
  check(c: Check): string | undefined;
}

const O_WRONLY = 1;
const O_CREAT = 0x40;
const O_TRUNC = 0x200;
const O_APPEND = 0x400;
const O_DIRECTORY = 0x10000;

/** Queries over one run, scoped to one action's processes (every image of its pid and what it forked). */
export class Check {
  private readonly nodes: Map<string, GraphNode>;
  readonly procs: ProcessNode[];
  readonly children: ProcessNode[];

  constructor(readonly run: CoverageRun, readonly id: string) {
    this.nodes = new Map(run.graph.nodes.map((n) => [n.id, n]));
    const pid = run.manifest[id]?.pid;
    this.procs = run.graph.nodes.filter((n): n is ProcessNode => n.type === 'Process' && n.pid === pid);
    const mine = new Set(this.procs.map((p) => p.id));
    this.children = run.graph.edges
      .filter((e) => e.type === 'WAS_INFORMED_BY' && mine.has(e.to) && !mine.has(e.from))
      .map((e) => this.nodes.get(e.from))
      .filter((n): n is ProcessNode => n?.type === 'Process');
  }

  get dir(): string {
    return this.run.dir;
  }

  private mine(id: string): boolean {
    return this.procs.some((p) => p.id === id);
  }

  /** An edge between a process of this action and a node matching pred (from the process for USED, to it for WAS_*). */
  edge<T extends GraphNode>(type: GraphEdge['type'], pred: (n: GraphNode) => n is T, attrs: (a: EdgeAttrs) => boolean = () => true): { edge: GraphEdge; node: T } | undefined {
    for (const e of this.run.graph.edges) {
      if (e.type !== type) continue;
      const [self, other] = type === 'USED' ? [e.from, e.to] : [e.to, e.from];
      if (!this.mine(self)) continue;
      const n = this.nodes.get(other);
      if (n && pred(n) && attrs(e.attrs ?? {})) return { edge: e, node: n };
    }
    return undefined;
  }

  file(path: string, more: (f: FileNode) => boolean = () => true) {
    return (n: GraphNode): n is FileNode => n.type === 'File' && n.path === path && more(n);
  }

  endpoint(more: (ep: EndpointNode) => boolean) {
    return (n: GraphNode): n is EndpointNode => n.type === 'Endpoint' && more(n);
  }

  /** The alert of this rule on a process of this action (as subject or object). */
  alerted(rule: string): boolean {
    return this.run.alerts.some((a) => a.rule === rule && (this.mine(a.subject) || (a.object !== undefined && this.mine(a.object))));
  }

  node(id: string): GraphNode | undefined {
    return this.nodes.get(id);
  }

  edgesOf(type: GraphEdge['type']): GraphEdge[] {
    return this.run.graph.edges.filter((e) => e.type === type);
  }
}

const need = (ok: unknown, what: string): string | undefined => (ok ? undefined : what);
const opened = (path: string, attrs: (a: EdgeAttrs) => boolean = (a) => a.openFlags !== undefined) => (c: Check) =>
  need(c.edge('USED', c.file(path), attrs), `USED ${path} with its open flags`);
const made = (path: string, more: (f: FileNode) => boolean = () => true, attrs?: (a: EdgeAttrs) => boolean, what = '') => (c: Check) =>
  need(c.edge('WAS_GENERATED_BY', c.file(path, more), attrs), `WAS_GENERATED_BY ${path} ${what}`.trim());
const gone = (path: string, more: (f: FileNode) => boolean = () => true) => (c: Check) =>
  need(c.edge('WAS_INVALIDATED_BY', c.file(path, more)), `WAS_INVALIDATED_BY ${path}`);
const all = (...checks: ((c: Check) => string | undefined)[]) => (c: Check) => checks.map((f) => f(c)).find((m) => m !== undefined);
const proc = (pred: (p: ProcessNode) => boolean, what: string) => (c: Check) => need(c.procs.some(pred), `a process of the action with ${what}`);
/** A child of the action's process that the action signalled or traced (the edge child → action carries attrs). */
const toChild = (attrs: (a: EdgeAttrs) => boolean, what: string) => (c: Check) =>
  need(c.edgesOf('WAS_INFORMED_BY').some((e) => c.children.some((k) => k.id === e.from) && c.procs.some((p) => p.id === e.to) && attrs(e.attrs ?? {})), what);
const ranFile = (path: (c: Check) => string, more: (f: FileNode) => boolean = () => true) => (c: Check) =>
  need(c.edge('USED', c.file(path(c), more), (a) => a.exec === true), `USED ${path(c)} as the new image's program (exec)`);
const envOf = (entry: string) => proc((p) => p.env?.includes(entry) ?? false, `env ${entry}`);

export const COVERAGE_ACTIONS: CoverageAction[] = [
  { id: 'open-shadow', what: 'open /etc/shadow and close it unread', alert: 'sensitive-file-open', check: opened('/etc/shadow', (a) => a.openFlags !== undefined && (a.openFlags & 3) === 0 && a.rc === undefined) },
  { id: 'denied-shadow', what: 'open /etc/shadow as nobody (EACCES)', alert: 'sensitive-file-open', check: opened('/etc/shadow', (a) => a.rc === -13) },
  { id: 'probe-ssh-key', what: 'look for a root SSH key that is not there (ENOENT)', alert: 'sensitive-file-open', check: opened('/root/.ssh/id_fpcov_missing', (a) => a.rc === -2) },
  { id: 'probe-secret', what: 'look for a mounted OpenFaaS secret', alert: 'secret-read', check: opened('/var/openfaas/secrets/fpcov-missing', (a) => a.rc === -2) },
  { id: 'open-kcore', what: 'open /proc/kcore (kernel memory)', alert: 'sensitive-file-open', check: opened('/proc/kcore') },
  { id: 'read-file', what: 'read a file', check: (c) => need(c.edge('USED', c.file(`${c.dir}/input.txt`), (a) => a.openFlags !== undefined), 'USED input.txt') ?? need((c.edge('USED', c.file(`${c.dir}/input.txt`))?.edge.bytes ?? 0) >= 5, 'its bytes') },
  { id: 'write-file', what: 'write 100 bytes to a new file', check: (c) => need(c.edge('WAS_GENERATED_BY', c.file(`${c.dir}/written.txt`, (f) => f.version > 0))?.edge.bytes === 100, 'WAS_GENERATED_BY written.txt with 100 bytes') },
  { id: 'create-empty', what: 'create a file and write nothing', check: (c) => made(`${c.dir}/empty`, (f) => f.version > 0, (a) => ((a.openFlags ?? 0) & O_CREAT) !== 0, 'with O_CREAT')(c) },
  { id: 'append-file', what: 'append a line to a log', check: (c) => made(`${c.dir}/app.log`, (f) => f.version > 0, (a) => ((a.openFlags ?? 0) & O_APPEND) !== 0, 'with O_APPEND')(c) },
  { id: 'clear-log', what: 'clear a log by truncating it on open', check: (c) => made(`${c.dir}/victim.log`, (f) => f.version > 0, (a) => ((a.openFlags ?? 0) & O_TRUNC) !== 0, 'with O_TRUNC')(c) },
  { id: 'hidden-file', what: 'create a hidden file', check: (c) => made(`${c.dir}/.hidden`, (f) => f.version > 0)(c) },
  { id: 'list-dir', what: 'list a directory', check: (c) => opened(c.dir, (a) => ((a.openFlags ?? 0) & O_DIRECTORY) !== 0)(c) },
  { id: 'make-dir', what: 'mkdir', check: (c) => made(`${c.dir}/newdir`, (f) => f.fileType === 'directory')(c) },
  { id: 'hidden-dir', what: 'make a hidden directory', check: (c) => made(`${c.dir}/.hiddendir`, (f) => f.fileType === 'directory')(c) },
  { id: 'mkdir-at', what: 'mkdirat relative to a directory fd', check: (c) => made(`${c.dir}/viadirfd`, (f) => f.fileType === 'directory')(c) },
  { id: 'remove-dir', what: 'rmdir', check: (c) => gone(`${c.dir}/gone`, (f) => f.fileType === 'directory' && f.deleted !== undefined)(c) },
  { id: 'remove-file', what: 'unlink a file', check: (c) => gone(`${c.dir}/tmpfile`)(c) },
  { id: 'rename-file', what: 'rename a file', check: (c) => all(made(`${c.dir}/new`), (k) => need(k.edge('USED', k.file(`${k.dir}/old`)), 'USED old'))(c) },
  { id: 'chmod-exec', what: 'make a file executable', check: (c) => need(c.run.graph.nodes.filter((n) => n.type === 'File' && n.path === `${c.dir}/tool`).length >= 2 && c.edge('WAS_GENERATED_BY', c.file(`${c.dir}/tool`)), 'a new version of tool from chmod') },
  { id: 'truncate-file', what: 'truncate a file by path', check: (c) => made(`${c.dir}/input2.txt`, (f) => f.version > 0)(c) },
  { id: 'ftruncate-file', what: 'truncate an open file', check: (c) => made(`${c.dir}/input3.txt`, (f) => f.version > 0)(c) },
  { id: 'hardlink-passwd', what: 'hard-link /etc/passwd to a new name', alert: 'link-to-sensitive', check: (c) => all(made(`${c.dir}/pw-link`, (f) => f.fileType === 'hardlink' && f.linkTarget === '/etc/passwd'), (k) => need(k.edge('USED', k.file('/etc/passwd')), 'USED /etc/passwd'))(c) },
  { id: 'symlink-shadow', what: 'symlink to /etc/shadow', alert: 'link-to-sensitive', check: (c) => made(`${c.dir}/shadow-link`, (f) => f.fileType === 'symlink' && f.linkTarget === '/etc/shadow')(c) },
  { id: 'symlink-relative', what: 'a relative symlink', check: (c) => made(`${c.dir}/sub/rel-link`, (f) => f.fileType === 'symlink' && f.linkTarget === `${c.dir}/input.txt`)(c) },
  { id: 'write-etc', what: 'write a file below /etc', alert: 'system-dir-write', check: (c) => made(`/etc/fpcov-${c.run.manifest['write-etc']?.pid}`, (f) => f.version > 0)(c) },
  { id: 'write-dev', what: 'create a hidden file below /dev', alert: 'system-dir-write', check: (c) => made(`/dev/.fpcov-${c.run.manifest['write-dev']?.pid}`, (f) => f.version > 0)(c) },
  { id: 'dup2-stdout', what: 'redirect stdout to a file with dup2 and write', check: (c) => need(c.edge('WAS_GENERATED_BY', c.file(`${c.dir}/redirected.txt`))?.edge.bytes === 10, 'WAS_GENERATED_BY redirected.txt with 10 bytes') },
  { id: 'chdir-relative', what: 'chdir and write a relative path', check: (c) => made(`${c.dir}/relative.txt`, (f) => f.version > 0)(c) },
  { id: 'copy-range', what: 'copy_file_range between files', check: (c) => all(made(`${c.dir}/copied.txt`), (k) => need(k.edge('USED', k.file(`${k.dir}/input.txt`)), 'USED input.txt'))(c) },
  { id: 'send-file', what: 'sendfile between files', check: (c) => all(made(`${c.dir}/sent.txt`), (k) => need(k.edge('USED', k.file(`${k.dir}/input.txt`)), 'USED input.txt'))(c) },
  { id: 'exec-binary', what: 'exec a program', check: all(proc((p) => p.exe === '/usr/bin/true', 'exe /usr/bin/true'), ranFile(() => '/usr/bin/true')) },
  { id: 'spawn-shell', what: 'exec a shell', alert: 'shell-in-function', check: proc((p) => p.exe === '/bin/sh' && p.argv[0] === 'sh', 'exe /bin/sh') },
  { id: 'kill-child', what: 'kill a process', check: toChild((a) => a.signal === 15, 'the killed child WAS_INFORMED_BY the action (signal 15)') },
  { id: 'pidfd-signal', what: 'signal a process through a pidfd', check: toChild((a) => a.signal === 9, 'the signalled child WAS_INFORMED_BY the action (signal 9, pidfd_send_signal)') },
  { id: 'ptrace-attach', what: 'ptrace another process', alert: 'ptrace', check: toChild((a) => a.ptrace === 16, 'the traced child WAS_INFORMED_BY the action (PTRACE_ATTACH)') },
  { id: 'ptrace-traceme', what: 'PTRACE_TRACEME (anti-debugging)', alert: 'ptrace', check: proc((p) => p.traceme !== undefined, 'traceme') },
  { id: 'setuid-nobody', what: 'drop to uid 65534', check: proc((p) => p.uid === 65534 && p.credChanged !== undefined, 'uid 65534 and credChanged') },
  { id: 'setns-net', what: 'setns into a network namespace', alert: 'namespace-change', check: all(proc((p) => p.nsChanged !== undefined && p.nsFlags === 0x40000000, 'nsChanged, CLONE_NEWNET'), opened('/proc/self/ns/net')) },
  { id: 'unshare-uts', what: 'unshare the UTS namespace', alert: 'namespace-change', check: proc((p) => p.nsFlags === 0x04000000, 'nsFlags CLONE_NEWUTS') },
  { id: 'unshare-mount', what: 'unshare the mount namespace', alert: 'namespace-change', check: proc((p) => p.nsFlags === 0x00020000, 'nsFlags CLONE_NEWNS') },
  { id: 'ld-preload-exec', what: 'exec with LD_PRELOAD', alert: 'loader-env', check: envOf('LD_PRELOAD=/lib/x86_64-linux-gnu/libz.so.1') },
  { id: 'glibc-tunables-exec', what: 'exec with GLIBC_TUNABLES (CVE-2023-4911 style)', alert: 'loader-env', check: envOf('GLIBC_TUNABLES=glibc.malloc.mxfast=0') },
  { id: 'raw-icmp', what: 'a raw ICMP socket', alert: 'raw-socket', check: (c) => need(c.edge('USED', c.endpoint((ep) => ep.socketKind === 'raw' && ep.address === 'raw:inet' && ep.port === 1)), 'USED a raw:inet endpoint, protocol 1') },
  { id: 'raw-icmp6', what: 'a raw ICMPv6 socket', alert: 'raw-socket', check: (c) => need(c.edge('USED', c.endpoint((ep) => ep.socketKind === 'raw' && ep.address === 'raw:inet6' && ep.port === 58)), 'USED a raw:inet6 endpoint, protocol 58') },
  { id: 'packet-socket', what: 'an AF_PACKET socket (sniffer)', alert: 'raw-socket', check: (c) => need(c.edge('USED', c.endpoint((ep) => ep.socketKind === 'packet' && ep.port === 3)), 'USED a packet endpoint, ETH_P_ALL') },
  { id: 'tcp-connect', what: 'connect to a TCP peer and receive', check: (c) => need(c.edge('USED', c.endpoint((ep) => ep.address === '127.0.0.1' && ep.port === c.run.port), (a) => a.initiated === true), 'USED the peer endpoint (initiated)') },
  { id: 'udp-send', what: 'send a UDP datagram', check: (c) => need(c.edge('WAS_GENERATED_BY', c.endpoint((ep) => ep.address === '127.0.0.1' && ep.port === c.run.port))?.edge.bytes === 10, 'WAS_GENERATED_BY the peer endpoint, 10 bytes') },
  // Bound to port 0: the endpoint is what bind was given (the kernel's pick is not read back).
  { id: 'tcp-listen', what: 'bind a listening socket', check: (c) => need(c.edge('WAS_GENERATED_BY', c.endpoint((ep) => ep.address === '127.0.0.1')), 'WAS_GENERATED_BY a served endpoint') },
  { id: 'unix-connect', what: 'connect to a unix socket', check: (c) => need(c.edge('USED', c.endpoint((ep) => ep.address === `unix:${c.run.unixSocket}`)), 'USED the unix endpoint') },
  { id: 'memfd-write', what: 'write 1 MB into a memfd', check: (c) => need(c.edge('WAS_GENERATED_BY', c.file('memfd:fpcov-buf', (f) => f.fileType === 'memfd'))?.edge.bytes === 1_000_000, 'WAS_GENERATED_BY memfd:fpcov-buf with 1000000 bytes') },
  {
    id: 'fileless-exec', what: 'receive a program from the network into a memfd and exec /proc/self/fd/N', alert: 'fileless-exec',
    check: all(ranFile(() => 'memfd:fpcov-payload', (f) => f.fileType === 'memfd'), (c) => need(c.edge('USED', c.endpoint((ep) => ep.port === c.run.port)), 'USED the peer the program came from')),
  },
  { id: 'fexecve', what: 'fexecve a memfd (execveat with AT_EMPTY_PATH)', alert: 'fileless-exec', check: all(proc((p) => /^\/dev\/fd\/\d+$/.test(p.exe), 'exe /dev/fd/N'), ranFile(() => 'memfd:fpcov-fexecve')) },
  { id: 'userfaultfd', what: 'userfaultfd (kernel exploit staging)', check: opened('anon_inode:[userfaultfd]') },
  { id: 'load-dropped-library', what: 'load a library dropped into a temporary directory', check: (c) => all(made(`${c.dir}/libdropped.so`), (k) => need(k.edge('USED', k.file(`${k.dir}/libdropped.so`, (f) => f.version > 0)), 'USED (mapped) the dropped library version'))(c) },
  { id: 'pipe-to-child', what: 'send data to a child through a pipe', check: (c) => need(c.edge('WAS_GENERATED_BY', (n): n is GraphNode => n.type === 'Pipe')?.edge.bytes === 14 && c.children.length > 0, 'WAS_GENERATED_BY a pipe (14 bytes) read by a child') },
];
