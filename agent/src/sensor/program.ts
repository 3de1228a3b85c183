/**
 * The bpftrace program of the system layer. One program per agent; every probe is scoped in
 * the kernel to tracked process trees (@t, keyed by tgid), and reads/writes are reduced in
 * the kernel: only the first read and first write per (process image, fd) are printed until
 * the fd is closed or the direction changes; the rest is counted and flushed on close.
 *
 * Output lines (printf, tab-separated, a path always last so that it may hold any byte). On the
 * lines whose acting thread decides which invocation unit is charged, pid is printed PID/TID:
 *   B ts                          ready (BEGIN runs after every probe is attached)
 *   X ts pid gen cgroup uid euid exe   exec of a new image (gen counts images per pid)
 *   A ts pid gen argvlen argv     its argv (NUL-separated, escaped), printed right after X
 *   F ts ppid pid                 fork of a new process (threads are not processes)
 *   t ts pid/tid newtid           a new thread (it inherits the creating thread's unit)
 *   Q ts pid code                 exit
 *   O ts pid/tid fd flags dirfd path  open/openat/openat2/creat (fd < 0: -errno of a failed open under a sensitive prefix)
 *   R|W ts pid gen fd bytes       first read / write on an fd (no write() to /dev/null)
 *   L ts pid gen fd rc rb wc wb   close, with the reads/writes counted since the first (none for an epoll fd)
 *   C ts pid gen fd rc rb wc wb   counters flushed because the fd number was reused
 *   D ts pid oldfd newfd cloexec  dup/dup2/dup3/fcntl(F_DUPFD)
 *   N ts pid dirfd path / M ts pid dirfd path    rename from / to (same thread, in order)
 *   U ts pid dirfd path           unlink
 *   K ts pid fd family port addr  connect;  Y ts pid lfd newfd family port addr  accept
 *   I ts pid fd family port addr  bind (family 1: addr is a unix socket path)
 *   P ts pid kind rfd wfd         pipe (kind 0) or socketpair (kind 1)
 *   E ts pid gen fd len           mmap of a file with PROT_EXEC (code loads)
 *   S ts pid uid euid gid egid    credentials after a successful set*id
 *   G ts pid target sig           kill/tgkill;  T ts pid request target   ptrace
 *   V ts pid dirfd mode path / v ts pid fd mode          chmod / fchmod
 *   n ts pid dirfd len path / e ts pid fd len            truncate / ftruncate
 *   k ts                          marker after in-kernel counters were printed and cleared
 *   z ts                          the stop probe ran (after its counters and k): the capture ends here
 *   H ts pid path / J ts pid fd   chdir / fchdir
 *   Z ts pid first last           close_range
 *   m ts pid tid text             a write to /dev/null by a shim: an invocation marker (faasprov:B|E:call-id)
 * GPU API calls (uprobes on CUDA libraries; api is the function's name, rc its return code):
 *   a ts pid api rc ptr size      allocation (ptr: the device address written to the out pointer)
 *   b ts pid api rc ptr           free
 *   c ts pid api rc dst src n kind   copy (kind: 1 host→device, 2 device→host, 3 device→device, 4 unified)
 *   l ts pid api rc func symbol   kernel launch
 *   d ts pid api rc device        device selection
 * Host operations (directories, links, namespaces, raw sockets, memfd...): see host-probes.ts.
 */
import { gpuMapsClear, gpuProbes, type GpuLibrary } from './gpu-probes.js';
import { checkHostOptions, execEnv, failedOpen, hostMapsClear, hostProbes, ROOT_ENV_BYTES, type HostProbeOptions } from './host-probes.js';

/** Which process trees the kernel tracks. */
export type Scope =
  /** faasprov run: the launcher whose next exec starts the tracked tree. */
  | { kind: 'launcher'; rootPid: number }
  /** faasprov agent: trees rooted at an exec of one of these names, plus pids already running. */
  | { kind: 'watch'; comms: string[]; seedPids: number[]; seedDevNull?: { pid: number; fd: number }[] };

export interface ProgramOptions extends HostProbeOptions {
  scope: Scope;
  /** Longest argv area read at exec, in bytes. */
  argvBytes?: number;
  /** Flush in-kernel counters this often (seconds); 0: only at the end. */
  counterFlushSec?: number;
  /** Count every syscall of tracked processes (tracepoint raw_syscalls): for the reduction ratio. */
  countRaw?: boolean;
  /** CUDA libraries to probe, with the entry points each defines (gpu-probes.ts). */
  gpu?: GpuLibrary[];
}

/** Names bpftrace may compare with comm: no quotes or escapes can reach the program text. */
export const COMM_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function seedAndScope(scope: Scope): { begin: string; onExec: string; rootEnvBytes: number } {
  if (scope.kind === 'launcher') {
    if (!Number.isInteger(scope.rootPid) || scope.rootPid <= 0) throw new RangeError(`bad root pid ${scope.rootPid}`);
    return { begin: '', onExec: `if (pid == ${scope.rootPid}) { if (@t[pid] == 0) { @t[pid] = 1; } }`, rootEnvBytes: 0 };
  }
  for (const c of scope.comms) if (!COMM_PATTERN.test(c)) throw new RangeError(`bad watch name ${JSON.stringify(c)}`);
  for (const p of scope.seedPids) if (!Number.isInteger(p) || p <= 0) throw new RangeError(`bad seed pid ${p}`);
  const devNull = scope.seedDevNull ?? [];
  for (const d of devNull) if (!Number.isInteger(d.pid) || d.pid <= 0 || !Number.isInteger(d.fd) || d.fd < 0) throw new RangeError(`bad seed fd ${d.pid}/${d.fd}`);
  // The kernel keeps 15 bytes of a comm.
  const test = scope.comms.map((c) => `comm == "${c.slice(0, 15)}"`).join(' || ') || '0';
  return {
    // A warm instance's shim opened /dev/null before the agent started: its markers count too.
    begin: [...scope.seedPids.map((p) => `@t[${p}] = 1;`), ...devNull.map((d) => `@dn[${d.pid}, ${d.fd}] = 1;`)].join(' '),
    // $root: the exec starts a new tree, whose environment the kernel copies (execEnv).
    onExec: `$root = 0; if (@t[pid] == 0) { if (${test}) { @t[pid] = 1; $root = 1; } }`,
    rootEnvBytes: ROOT_ENV_BYTES,
  };
}

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const CLONE_THREAD = 0x10000;
const O_CLOEXEC = 0x80000;
const F_DUPFD = 0;
const F_DUPFD_CLOEXEC = 1030;
const EINPROGRESS = 115;
/** Marker writes: "faasprov:B:" or "faasprov:E:" and a call id of up to 128 bytes. */
export const MARKER_PREFIX = 'faasprov:';
const MARKER_MIN = MARKER_PREFIX.length + 3;
const MARKER_MAX = 190;
/** /dev/null's device number as the kernel keeps it (MKDEV(1, 3): major << 20 | minor). */
const DEV_NULL = (1 << 20) | 3;
/** The name of every epoll fd's (anonymous) inode. */
const EPOLL_NAME = '[eventpoll]';
const EVENTFD_NAME = '[eventfd]';

/**
 * @g[pid] holds the process's image generation (low 32 bits) and, at MARKED, whether it has written
 * an invocation marker: the data probes read both with one lookup (a map less on every read and
 * write of a watched process).
 */
const MARKED = 0x100000000;
const GEN_MASK = '0xffffffff';
/** The generation of pid's image. */
const GEN = `(@g[pid] & ${GEN_MASK})`;

const COUNTERS = (k: string) => `@rc[${k}], @rb[${k}], @wc[${k}], @wb[${k}]`;
/** The per-fd maps and their zero (byte counters are unsigned). */
const FD_STATE_MAPS = [['@s', '0'], ['@rc', '0'], ['@rb', '(uint64)0'], ['@wc', '0'], ['@wb', '(uint64)0']] as const;

/**
 * Forgets an fd's state (its counters were just printed). While the counters are also printed
 * periodically, a probe must not delete entries: bpftrace 0.17 aborts ("failed to look up elem")
 * when an entry vanishes while print() walks the map. Zero means "nothing" to every reader of
 * these maps, and the periodic clear() removes the keys.
 * Only entries that hold something are touched: bpftrace 0.23 reports every delete of a missing
 * key as a helper error through the output ring buffer (a record and a line per close, as many
 * as the events themselves), and a zero written to a missing key only makes the map bigger.
 */
function forgetFdState(periodicPrint: boolean): (k: string) => string {
  return (k) => FD_STATE_MAPS.map(([m, zero]) => `if (${m}[${k}]) { ${periodicPrint ? `${m}[${k}] = ${zero};` : `delete(${m}[${k}]);`} }`).join(' ');
}

/** The open file an fd number names now, from the task's fd table (0 if none). */
function fileOf(fdExpr: string, into: string): string {
  // The conditional drops the tracepoint field's address space (see dataOp).
  return `${into} = (struct file *)0; $ft = curtask->files->fdt; $fti = (uint64)(${fdExpr} >= 0 ? ${fdExpr} : 0x7fffffff);
    if ($fti < (uint64)$ft->max_fds) { ${into} = (struct file *)*($ft->fd + $fti); }`;
}

/** Deletes a map entry that may be missing (see forgetFdState): for maps whose entries are never 0. */
const deleteIfSet = (entry: string) => `if (${entry}) { delete(${entry}); }`;

/** A new fd got this number: flush the counters of its previous occupant (close_range, dup2...). */
function rebind(fdExpr: string, forget: (k: string) => string): string {
  const k = 'pid, $rg, $rfd';
  return `$rg = ${GEN}; $rfd = (int64)(${fdExpr});
    if (@s[${k}]) {
      printf("C\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, $rg, $rfd, ${COUNTERS(k)});
      ${forget(k)}
    }`;
}

/**
 * Reports the first read or write per (image, fd) until close or a change of direction. In a
 * process that has written an invocation marker (MARKED in @g) another thread's first op is reported too
 * (it may serve another invocation); a process that never has (a watchdog, a plain command) serves
 * no invocation, the agent charges all its syscalls to its image (attribution.ts, rule 4), and its
 * threads take turns on one fd (Go's runtime): a new thread is not news there. An eventfd's ops are
 * counted, never printed one by one: it carries a wake-up count, not data (of-watchdog's runtime signals one
 * per request), and the agent keeps no entity for it.
 */
function dataOp(dir: 'R' | 'W', fdVar: string, bytes: string, forget: (k: string) => string): string {
  const flag = dir === 'R' ? 1 : 2;
  const [c, b] = dir === 'R' ? ['@rc', '@rb'] : ['@wc', '@wb'];
  // The key is built once on the stack and every map op uses it.
  const k = '$k';
  // The conditional drops the tracepoint field's address space: bpftrace 0.23 warns
  // "Addrspace mismatch" when it is added to a map value that a plain (uint64)0 reset.
  const add = `(uint64)(${bytes} > 0 ? ${bytes} : 0)`;
  // @s holds the direction (and in a marked process the thread) of the last reported op; another
  // thread's first op is reported after the counts so far when there are any (a line of zeros
  // said nothing: a tenth of a checkout's events were such lines).
  return `$gm = @g[pid]; $g = $gm & ${GEN_MASK}; $mk = $gm >> 32; $k = (pid, $g, ${fdVar}); $cur = @s[$k];
    $st = $mk ? (int64)${flag} + ((int64)tid << 2) : (int64)${flag};
    if ($cur != $st) {
      if ($mk && $cur != 0 && ($cur >> 2) != (int64)tid) {
        $since = @rc[$k] + @wc[$k];
        if ($since != 0) {
          printf("C\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, $g, ${fdVar}, ${COUNTERS(k)});
          ${forget(k)}
        }
      }
      @s[${k}] = $st;
      ${fileOf(fdVar, '$df')}
      if ($df == 0 || str($df->f_path.dentry->d_name.name, ${EVENTFD_NAME.length + 1}) != "${EVENTFD_NAME}") {
        printf("${dir}\\t%llu\\t%d/%d\\t%d\\t%d\\t%d\\n", nsecs, pid, tid, $g, ${fdVar}, ${bytes});
      } else {
        ${c}[${k}] = ${c}[${k}] + 1; ${b}[${k}] = ${b}[${k}] + ${add};
      }
    } else {
      ${c}[${k}] = ${c}[${k}] + 1; ${b}[${k}] = ${b}[${k}] + ${add};
    }`;
}

/**
 * The exit of a read or write, for the threads whose entry saved fd + 1. The scope check is on
 * @t[pid], as at the entry: that map entry is in cache from the entry a moment ago, where the
 * saved fd's is not, and every process on the node pays this check on every read and write;
 * the saved fd is then looked up once (a predicate on it would be a second lookup).
 */
function firstOp(dir: 'R' | 'W', forget: (k: string) => string): string {
  const save = dir === 'R' ? '@rf' : '@wf';
  return `{
  $saved = ${save}[tid];
  if ($saved) {
    $fd = (int64)($saved - 1); delete(${save}[tid]);
    $ret = args->ret;
    if ($ret > 0) {
      ${dataOp(dir, '$fd', '$ret', forget)}
    }
  }
}`;
}

/** One printf per line: `head` (a format prefix and its args) then "family\tport\taddress". */
function sockaddr(ptr: string, head: string, headArgs: string): string {
  const fmt = (rest: string) => `"${head}${rest}\\n", ${headArgs}`;
  return `$sa = (struct sockaddr *)${ptr};
    $fam = 0;
    if ((uint64)${ptr} != 0) { $fam = (int64)$sa->sa_family; }
    if ($fam == 2) {
      $a4 = (struct sockaddr_in *)${ptr};
      $p4 = $a4->sin_port;
      printf(${fmt('%d\\t%d\\t%s')}, $fam, (($p4 & 0xff) << 8) | (($p4 >> 8) & 0xff), ntop(2, $a4->sin_addr.s_addr));
    } else if ($fam == 10) {
      $a6 = (struct sockaddr_in6 *)${ptr};
      $p6 = $a6->sin6_port;
      printf(${fmt('%d\\t%d\\t%s')}, $fam, (($p6 & 0xff) << 8) | (($p6 >> 8) & 0xff), ntop(10, $a6->sin6_addr.in6_u.u6_addr8));
    } else if ($fam == 1) {
      $un = (struct sockaddr_un *)${ptr};
      printf(${fmt('%d\\t0\\t%s')}, $fam, $un->sun_path);
    } else {
      printf(${fmt('%d\\t0\\t-')}, $fam);
    }`;
}

/**
 * The agent stops capture with SIGUSR1 to bpftrace: this probe prints the counters, then "z".
 * bpftrace 0.23 detaches every probe before END runs, a kernel grace period per tracepoint
 * (about 70 ms each here, seconds in all), so the agent takes its last counters from here and
 * does not wait for the detach (BpftraceSensor.stop).
 */
function stopProbe(countRaw: boolean): string {
  return `self:signal:SIGUSR1 {
  print(@rc); print(@rb); print(@wc); print(@wb); ${countRaw ? 'print(@raw);' : ''}
  clear(@rc); clear(@rb); clear(@wc); clear(@wb);
  printf("k\\t%llu\\n", nsecs);
  printf("z\\t%llu\\n", nsecs);
}`;
}

/**
 * Each probe reads an `args` field once, into a variable: bpftrace 0.23 resolves the tracepoint
 * again (a read of tracefs's available_events) for every use of `args` in every attach point.
 */
export function buildProgram(opts: ProgramOptions): string {
  const argvBytes = Math.max(16, Math.min(opts.argvBytes ?? 190, 190));
  const sc = (name: string) => `tracepoint:syscalls:sys_${name}`;
  const scope = seedAndScope(opts.scope);
  const flush = opts.counterFlushSec ?? 0;
  if (!Number.isInteger(flush) || flush < 0) throw new RangeError(`bad counter flush interval ${flush}`);
  const forget = forgetFdState(flush > 0);
  const rebindFd = (fdExpr: string) => rebind(fdExpr, forget);
  checkHostOptions(opts);
  return `
BEGIN { ${scope.begin} printf("B\\t%llu\\n", nsecs); }

// A raw tracepoint (arg2: the linux_binprm): bpftrace 0.23 reads the tracepoint's __data_loc
// filename at 4 times its offset (bpftrace PR 4238), which prints garbage.
rawtracepoint:sched_process_exec {
  ${scope.onExec}
  if (@t[pid]) {
    @g[pid] = @g[pid] + 1;
    $gen = ${GEN};
    $mm = curtask->mm;
    $as = $mm->arg_start;
    $al = $mm->arg_end - $as;
    $n = $al;
    if ($n > ${argvBytes}) { $n = ${argvBytes}; }
    printf("X\\t%llu\\t%d\\t%d\\t%llu\\t%d\\t%d\\t%s\\n", nsecs, pid, $gen, cgroup, curtask->cred->uid.val, curtask->cred->euid.val, str(((struct linux_binprm *)arg2)->filename));
    printf("A\\t%llu\\t%d\\t%d\\t%d\\t%r\\n", nsecs, pid, $gen, $al, buf(uptr($as), $n));
    ${execEnv(opts, scope.rootEnvBytes)}
  }
}

tracepoint:task:task_newtask /@t[pid]/ {
  if ((args->clone_flags & ${CLONE_THREAD}) == 0) {
    @t[args->pid] = 1;
    printf("F\\t%llu\\t%d/%d\\t%d\\n", nsecs, pid, tid, args->pid);
  } else {
    printf("t\\t%llu\\t%d/%d\\t%d\\n", nsecs, pid, tid, args->pid);
  }
}

tracepoint:sched:sched_process_exit /@t[pid]/ {
  if (pid == tid) {
    printf("Q\\t%llu\\t%d\\t%d\\n", nsecs, pid, curtask->exit_code);
    delete(@t[pid]);
    if (@g[pid] & ${MARKED}) { @g[pid] = ${GEN}; }
  }
}

${sc('enter_openat')} /@t[pid]/ { @op[tid] = args->filename; @of[tid] = args->flags; @od[tid] = args->dfd; }
${sc('enter_open')} /@t[pid]/ { @op[tid] = args->filename; @of[tid] = args->flags; @od[tid] = ${AT_FDCWD}; }
${sc('enter_creat')} /@t[pid]/ { @op[tid] = args->pathname; @of[tid] = 0x241; @od[tid] = ${AT_FDCWD}; }
${sc('enter_openat2')} /@t[pid]/ { @op[tid] = args->filename; @of[tid] = ((struct open_how *)args->how)->flags; @od[tid] = args->dfd; }
// Scoped on @t like the reads' and writes' exits (firstOp); the path is looked up once.
${sc('exit_openat')}, ${sc('exit_open')}, ${sc('exit_creat')}, ${sc('exit_openat2')} /@t[pid]/ {
  $op = @op[tid];
  if ($op) {
    // A failed open is reported (fd = -errno) only under a sensitive prefix (host-probes.ts).
    $ret = args->ret;
    $rep = $ret >= 0 ? 1 : 0;
    if ($rep == 0) { ${failedOpen(opts)} }
    if ($rep) {
      if ($ret >= 0) { ${rebindFd('$ret')} }
      printf("O\\t%llu\\t%d/%d\\t%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, $ret, @of[tid], @od[tid], str($op));
      // A shim announces invocations by writing markers to /dev/null (11 bytes tell it from longer paths).
      if ($ret >= 0) { if (str($op, 11) == "/dev/null") { @dn[pid, $ret] = 1; } else { ${deleteIfSet('@dn[pid, $ret]')} } }
    }
    delete(@op[tid]); delete(@of[tid]); delete(@od[tid]);
  }
}

${sc('enter_read')}, ${sc('enter_pread64')}, ${sc('enter_readv')}, ${sc('enter_preadv')}, ${sc('enter_recvfrom')}, ${sc('enter_recvmsg')}
  /@t[pid]/ { @rf[tid] = args->fd + 1; }
${sc('exit_read')}, ${sc('exit_pread64')}, ${sc('exit_readv')}, ${sc('exit_preadv')}, ${sc('exit_recvfrom')}, ${sc('exit_recvmsg')}
  /@t[pid]/ ${firstOp('R', forget)}

// One probe per tracepoint: bpftrace 0.17 mis-loads two programs attached to the same one.
// A write to /dev/null is not followed to its exit: the agent keeps no data edge for /dev/null
// (observer.onData), so its W and C lines (two of a Python invocation's records, one thread per
// request) only cost the function a wake-up of bpftrace. @dn may outlive its descriptor (an fd
// number reused after close_range or an exec, or by socket()): the device (1:3) is checked too.
${sc('enter_write')} /@t[pid]/ {
  $fd = args->fd;
  $sink = 0;
  if (@dn[pid, $fd]) {
    ${fileOf('$fd', '$file')}
    if ($file != 0 && $file->f_inode->i_rdev == ${DEV_NULL}) { $sink = 1; }
  }
  if ($sink) {
    $n = args->count;
    if ($n >= ${MARKER_MIN} && $n <= ${MARKER_MAX}) {
      $buf = args->buf;
      // str(p, n) reads at most n - 1 bytes and a NUL (bpftrace 0.23).
      if (strncmp(str($buf, ${MARKER_PREFIX.length + 1}), "${MARKER_PREFIX}", ${MARKER_PREFIX.length}) == 0) {
        printf("m\\t%llu\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, str($buf, $n + 1));
        @g[pid] = @g[pid] | ${MARKED};
      }
    }
  } else {
    @wf[tid] = $fd + 1;
  }
}
${sc('enter_pwrite64')}, ${sc('enter_writev')}, ${sc('enter_pwritev')}, ${sc('enter_sendto')}, ${sc('enter_sendmsg')}
  /@t[pid]/ { @wf[tid] = args->fd + 1; }
${sc('exit_write')}, ${sc('exit_pwrite64')}, ${sc('exit_writev')}, ${sc('exit_pwritev')}, ${sc('exit_sendto')}, ${sc('exit_sendmsg')}
  /@t[pid]/ ${firstOp('W', forget)}

// In-kernel copies (cat uses copy_file_range): a read of one fd and a write of another.
${sc('enter_copy_file_range')}, ${sc('enter_splice')} /@t[pid]/ { @xi[tid] = args->fd_in + 1; @xo[tid] = args->fd_out + 1; }
${sc('enter_sendfile64')} /@t[pid]/ { @xi[tid] = args->in_fd + 1; @xo[tid] = args->out_fd + 1; }
${sc('exit_copy_file_range')}, ${sc('exit_splice')}, ${sc('exit_sendfile64')} /@xi[tid]/ {
  $fi = (int64)(@xi[tid] - 1); $fo = (int64)(@xo[tid] - 1);
  delete(@xi[tid]); delete(@xo[tid]);
  $ret = args->ret;
  if ($ret > 0) {
    ${dataOp('R', '$fi', '$ret', forget)}
    ${dataOp('W', '$fo', '$ret', forget)}
  }
}

// An epoll fd's close is not printed: no line made it known to the agent (epoll_create is not
// probed) and it carries no data. Python's threaded server makes and closes one per request.
${sc('enter_close')} /@t[pid]/ {
  $g = ${GEN}; $fd = (int64)args->fd;
  ${deleteIfSet('@dn[pid, $fd]')}
  ${fileOf('$fd', '$cf')}
  if ($cf == 0 || @s[pid, $g, $fd] || str($cf->f_path.dentry->d_name.name, ${EPOLL_NAME.length + 1}) != "${EPOLL_NAME}") {
    printf("L\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, $g, $fd, ${COUNTERS('pid, $g, $fd')});
    ${forget('pid, $g, $fd')}
  }
}

${sc('enter_close_range')} /@t[pid]/ { printf("Z\\t%llu\\t%d\\t%d\\t%d\\n", nsecs, pid, args->fd, args->max_fd); }

${sc('enter_dup')} /@t[pid]/ { @do[tid] = args->fildes + 1; @dc[tid] = 0; }
${sc('enter_dup2')} /@t[pid]/ { @do[tid] = args->oldfd + 1; @dc[tid] = 0; }
${sc('enter_dup3')} /@t[pid]/ { @do[tid] = args->oldfd + 1; @dc[tid] = (args->flags & ${O_CLOEXEC}) ? 1 : 0; }
${sc('enter_fcntl')} /@t[pid]/ {
  $cmd = args->cmd;
  if ($cmd == ${F_DUPFD} || $cmd == ${F_DUPFD_CLOEXEC}) {
    @do[tid] = args->fd + 1; @dc[tid] = $cmd == ${F_DUPFD_CLOEXEC} ? 1 : 0;
  }
}
${sc('exit_dup')}, ${sc('exit_dup2')}, ${sc('exit_dup3')}, ${sc('exit_fcntl')} /@do[tid]/ {
  $old = (int64)(@do[tid] - 1); $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    printf("D\\t%llu\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, $old, $ret, @dc[tid]);
  }
  delete(@do[tid]); delete(@dc[tid]);
}

${sc('enter_rename')} /@t[pid]/ { @ro[tid] = args->oldname; @rn[tid] = args->newname; @rod[tid] = ${AT_FDCWD}; @rnd[tid] = ${AT_FDCWD}; }
${sc('enter_renameat')}, ${sc('enter_renameat2')} /@t[pid]/ {
  @ro[tid] = args->oldname; @rn[tid] = args->newname; @rod[tid] = args->olddfd; @rnd[tid] = args->newdfd;
}
${sc('exit_rename')}, ${sc('exit_renameat')}, ${sc('exit_renameat2')} /@ro[tid]/ {
  if (args->ret == 0) {
    printf("N\\t%llu\\t%d/%d\\t%d\\t%s\\n", nsecs, pid, tid, @rod[tid], str(@ro[tid]));
    printf("M\\t%llu\\t%d/%d\\t%d\\t%s\\n", nsecs, pid, tid, @rnd[tid], str(@rn[tid]));
  }
  delete(@ro[tid]); delete(@rn[tid]); delete(@rod[tid]); delete(@rnd[tid]);
}

${sc('enter_unlink')} /@t[pid]/ { @ul[tid] = args->pathname; @uld[tid] = ${AT_FDCWD}; ${deleteIfSet('@ulr[tid]')} }
${sc('enter_unlinkat')} /@t[pid]/ { @ul[tid] = args->pathname; @uld[tid] = args->dfd; if (args->flag & ${AT_REMOVEDIR}) { @ulr[tid] = 1; } else { ${deleteIfSet('@ulr[tid]')} } }
${sc('exit_unlink')}, ${sc('exit_unlinkat')} /@ul[tid]/ {
  if (args->ret == 0) {
    // A directory removed (unlinkat with AT_REMOVEDIR) is reported as rmdir (host-probes.ts).
    if (@ulr[tid]) { printf("u\\t%llu\\t%d/%d\\t%d\\t%s\\n", nsecs, pid, tid, @uld[tid], str(@ul[tid])); }
    else { printf("U\\t%llu\\t%d/%d\\t%d\\t%s\\n", nsecs, pid, tid, @uld[tid], str(@ul[tid])); }
  }
  delete(@ul[tid]); delete(@uld[tid]); ${deleteIfSet('@ulr[tid]')}
}

${sc('enter_connect')} /@t[pid]/ { @ca[tid] = args->uservaddr; @cf[tid] = args->fd + 1; }
${sc('exit_connect')} /@cf[tid]/ {
  $ret = args->ret;
  if ($ret == 0 || $ret == -${EINPROGRESS}) {
    ${sockaddr('@ca[tid]', 'K\\t%llu\\t%d/%d\\t%d\\t', 'nsecs, pid, tid, @cf[tid] - 1')}
  }
  delete(@ca[tid]); delete(@cf[tid]);
}

${sc('enter_accept')}, ${sc('enter_accept4')} /@t[pid]/ { @aa[tid] = args->upeer_sockaddr; @af[tid] = args->fd + 1; }
${sc('exit_accept')}, ${sc('exit_accept4')} /@af[tid]/ {
  $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    ${sockaddr('@aa[tid]', 'Y\\t%llu\\t%d/%d\\t%d\\t%d\\t', 'nsecs, pid, tid, @af[tid] - 1, $ret')}
  }
  delete(@aa[tid]); delete(@af[tid]);
}

${sc('enter_bind')} /@t[pid]/ { @ba[tid] = args->umyaddr; @bf[tid] = args->fd + 1; }
${sc('exit_bind')} /@bf[tid]/ {
  if (args->ret == 0) {
    ${sockaddr('@ba[tid]', 'I\\t%llu\\t%d/%d\\t%d\\t', 'nsecs, pid, tid, @bf[tid] - 1')}
  }
  delete(@ba[tid]); delete(@bf[tid]);
}

${sc('enter_pipe')}, ${sc('enter_pipe2')} /@t[pid]/ { @pp[tid] = args->fildes; @pk[tid] = 0; }
${sc('enter_socketpair')} /@t[pid]/ { @pp[tid] = args->usockvec; @pk[tid] = 1; }
${sc('exit_pipe')}, ${sc('exit_pipe2')}, ${sc('exit_socketpair')} /@pp[tid]/ {
  if (args->ret == 0) {
    $pf = (int32 *)@pp[tid];
    $p0 = *$pf; $p1 = *($pf + 1);
    ${rebindFd('$p0')}
    ${rebindFd('$p1')}
    printf("P\\t%llu\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, @pk[tid], $p0, $p1);
  }
  delete(@pp[tid]); delete(@pk[tid]);
}

${sc('enter_mmap')} /@t[pid]/ {
  $fd = (int32)args->fd;
  if ((args->prot & 4) != 0 && $fd >= 0) { @mf[tid] = (int64)$fd + 1; @ml[tid] = args->len; }
}
${sc('exit_mmap')} /@mf[tid]/ {
  $ret = args->ret;
  if ($ret >= 0 || $ret < -4095) {
    printf("E\\t%llu\\t%d/%d\\t%d\\t%d\\t%llu\\n", nsecs, pid, tid, ${GEN}, @mf[tid] - 1, @ml[tid]);
  }
  delete(@mf[tid]); delete(@ml[tid]);
}

${sc('exit_setuid')}, ${sc('exit_setgid')}, ${sc('exit_setreuid')}, ${sc('exit_setregid')}, ${sc('exit_setresuid')}, ${sc('exit_setresgid')}
  /@t[pid]/ {
  if (args->ret == 0) {
    $cr = curtask->cred;
    printf("S\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, $cr->uid.val, $cr->euid.val, $cr->gid.val, $cr->egid.val);
  }
}

${sc('enter_kill')} /@t[pid]/ { @kt[tid] = (int64)args->pid; @ks[tid] = args->sig; }
${sc('enter_tgkill')} /@t[pid]/ { @kt[tid] = (int64)args->tgid; @ks[tid] = args->sig; }
${sc('exit_kill')}, ${sc('exit_tgkill')} /@kt[tid]/ {
  if (args->ret == 0 && @ks[tid] != 0) { printf("G\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, @kt[tid], @ks[tid]); }
  delete(@kt[tid]); delete(@ks[tid]);
}

${sc('enter_ptrace')} /@t[pid]/ { @pr[tid] = args->request + 1; @pt[tid] = args->pid; }
${sc('exit_ptrace')} /@pr[tid]/ {
  if (args->ret >= 0) { printf("T\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, @pr[tid] - 1, @pt[tid]); }
  delete(@pr[tid]); delete(@pt[tid]);
}

${sc('enter_chmod')} /@t[pid]/ { @cp[tid] = args->filename; @cpd[tid] = ${AT_FDCWD}; @cm[tid] = args->mode; }
${sc('enter_fchmodat')} /@t[pid]/ { @cp[tid] = args->filename; @cpd[tid] = args->dfd; @cm[tid] = args->mode; }
${sc('exit_chmod')}, ${sc('exit_fchmodat')} /@cp[tid]/ {
  if (args->ret == 0) { printf("V\\t%llu\\t%d/%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, @cpd[tid], @cm[tid], str(@cp[tid])); }
  delete(@cp[tid]); delete(@cpd[tid]); delete(@cm[tid]);
}
${sc('enter_fchmod')} /@t[pid]/ { @cf2[tid] = args->fd + 1; @cm[tid] = args->mode; }
${sc('exit_fchmod')} /@cf2[tid]/ {
  if (args->ret == 0) { printf("v\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, @cf2[tid] - 1, @cm[tid]); }
  delete(@cf2[tid]); delete(@cm[tid]);
}

${sc('enter_truncate')} /@t[pid]/ { @tp[tid] = args->path; @tl[tid] = args->length; }
${sc('exit_truncate')} /@tp[tid]/ {
  if (args->ret == 0) { printf("n\\t%llu\\t%d/%d\\t${AT_FDCWD}\\t%d\\t%s\\n", nsecs, pid, tid, @tl[tid], str(@tp[tid])); }
  delete(@tp[tid]); delete(@tl[tid]);
}
${sc('enter_ftruncate')} /@t[pid]/ { @tf[tid] = args->fd + 1; @tl[tid] = args->length; }
${sc('exit_ftruncate')} /@tf[tid]/ {
  if (args->ret == 0) { printf("e\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, @tf[tid] - 1, @tl[tid]); }
  delete(@tf[tid]); delete(@tl[tid]);
}
${gpuProbes(opts.gpu ?? [])}
${hostProbes(rebindFd)}
${opts.countRaw ? 'tracepoint:raw_syscalls:sys_enter /@t[pid]/ { @raw = count(); }' : ''}
${flush > 0 ? `interval:s:${flush} {
  print(@rc); print(@rb); print(@wc); print(@wb); ${opts.countRaw ? 'print(@raw);' : ''}
  clear(@rc); clear(@rb); clear(@wc); clear(@wb); clear(@s);
  printf("k\\t%llu\\n", nsecs);
}` : ''}

${sc('enter_chdir')} /@t[pid]/ { @cd[tid] = args->filename; }
${sc('exit_chdir')} /@cd[tid]/ {
  if (args->ret == 0) { printf("H\\t%llu\\t%d\\t%s\\n", nsecs, pid, str(@cd[tid])); }
  delete(@cd[tid]);
}
${sc('enter_fchdir')} /@t[pid]/ { @cdf[tid] = args->fd + 1; }
${sc('exit_fchdir')} /@cdf[tid]/ {
  if (args->ret == 0) { printf("J\\t%llu\\t%d\\t%d\\n", nsecs, pid, @cdf[tid] - 1); }
  delete(@cdf[tid]);
}

${stopProbe(opts.countRaw ?? false)}

END {
  clear(@t); clear(@op); clear(@of); clear(@od); clear(@rf); clear(@wf); clear(@do); clear(@dc);
  clear(@ro); clear(@rn); clear(@rod); clear(@rnd); clear(@ul); clear(@uld); clear(@ca); clear(@cf);
  clear(@aa); clear(@af); clear(@xi); clear(@xo);
  clear(@ba); clear(@bf); clear(@pp); clear(@pk); clear(@mf); clear(@ml); clear(@kt); clear(@ks); clear(@pr); clear(@pt);
  clear(@cp); clear(@cpd); clear(@cm); clear(@cf2); clear(@tp); clear(@tl); clear(@tf); clear(@cd); clear(@cdf); clear(@s); clear(@g);
  clear(@dn); clear(@ulr); ${gpuMapsClear(opts.gpu ?? [])} ${hostMapsClear()}
}
`;
}
