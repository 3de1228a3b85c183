/**
 * Probes for the host operations an attacker uses beyond reads and writes: directories, links,
 * namespaces, raw sockets, userfaultfd, memfd, pidfd signals, failed opens of sensitive paths and
 * the exec's environment. Appended to the program of program.ts (its maps: @t tracked pids, @g
 * image generations); each new fd goes through rebind so that the counters of its number's
 * previous occupant are flushed first.
 *
 * Output lines (tab-separated, a path or name always last; pid is pid/tid, the acting thread):
 *   (a failed open of a path under one of the attempt prefixes is an O line with fd = -errno)
 *   f ts pid dirfd mode path         mkdir/mkdirat
 *   u ts pid dirfd path              rmdir, unlinkat(AT_REMOVEDIR)
 *   h ts pid kind dirfd path / j ts pid kind dirfd path   link source / new name (kind 0 hard, 1 symbolic: the source is the target text)
 *   s ts pid kind flags fd           namespace change (kind 0 unshare, 1 setns)
 *   r ts pid fd family type proto    a raw (SOCK_RAW) or packet (AF_PACKET) socket
 *   q ts pid fd flags                userfaultfd
 *   w ts pid fd flags name           memfd_create
 *   p ts pid fd target               pidfd_open;  g ts pid pidfd sig   pidfd_send_signal
 *   x ts pid gen total offset bytes  a chunk of the exec's environment (printed right after A)
 */

export interface HostProbeOptions {
  /** Absolute path prefixes whose failed opens are reported (the sensitive paths' literal prefixes). */
  attemptPrefixes?: string[];
  /** Bytes of the exec's environment to read (0: none), in chunks of ENV_CHUNK. */
  envBytes?: number;
}

const AT_FDCWD = -100;
const AF_PACKET = 17;
const SOCK_RAW = 3;
// Netlink sockets are SOCK_RAW too (glibc's getifaddrs, iproute2): kernel messaging, not raw IP.
const AF_NETLINK = 16;
/** One buf() read: bpftrace reads at most 200 bytes per string or buffer. */
export const ENV_CHUNK = 190;
export const MAX_ENV_BYTES = ENV_CHUNK * 16;
/** Prefixes bpftrace may hold as string literals: no quote, backslash or control character. */
const PREFIX_PATTERN = /^\/[\x21-\x7e]{0,62}$/;
const MAX_PREFIXES = 32;

export function checkHostOptions(o: HostProbeOptions): void {
  const prefixes = o.attemptPrefixes ?? [];
  if (prefixes.length > MAX_PREFIXES) throw new RangeError(`at most ${MAX_PREFIXES} attempt prefixes`);
  for (const p of prefixes) if (!PREFIX_PATTERN.test(p) || /["\\]/.test(p)) throw new RangeError(`bad attempt prefix ${JSON.stringify(p)}`);
  const env = o.envBytes ?? 0;
  if (!Number.isInteger(env) || env < 0 || env > MAX_ENV_BYTES) throw new RangeError(`bad environment size ${env} (0..${MAX_ENV_BYTES})`);
}

/**
 * Inside the exit probe of the opens, when the open failed: sets $rep when the path's first 8
 * bytes match a prefix's (read as one integer: the probe's stack has no room for another string).
 * The agent matches the whole glob; a longer prefix only narrows what the kernel reports.
 */
export function failedOpen(o: HostProbeOptions): string {
  const prefixes = o.attemptPrefixes ?? [];
  if (prefixes.length === 0) return '';
  const words = new Set(prefixes.map((p) => {
    const head = Buffer.from(p, 'latin1').subarray(0, 8);
    const value = head.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
    return head.length === 8 ? `$fw == 0x${value.toString(16)}` : `($fw & 0x${((1n << BigInt(8 * head.length)) - 1n).toString(16)}) == 0x${value.toString(16)}`;
  }));
  return `$fw = *(uint64 *)uptr(@op[tid]);
    if (${[...words].join(' || ')}) { $rep = 1; }`;
}

/**
 * Bytes of a new watched root's environment the kernel reads at its exec, whatever the rules name:
 * the agent reads the instance's function and tenant from /proc, and a root that has exited by then
 * leaves only this copy (observer.ts, Instance.envFrom).
 */
export const ROOT_ENV_BYTES = MAX_ENV_BYTES;

/**
 * Inside the exec probe, after the argv line ($gen: the new image's generation): the environment,
 * chunk by chunk, up to envBytes for every exec and up to rootEnvBytes for the exec of a new
 * watched root (the probe's $root, set by the watch scope).
 */
export function execEnv(o: HostProbeOptions, rootEnvBytes = 0): string {
  const every = Math.ceil((o.envBytes ?? 0) / ENV_CHUNK);
  const chunks = Math.max(every, Math.ceil(rootEnvBytes / ENV_CHUNK));
  if (chunks === 0) return '';
  const lines = ['$es = $mm->env_start;', '$el = $mm->env_end - $es;'];
  for (let i = 0; i < chunks; i++) {
    const off = i * ENV_CHUNK;
    lines.push(`if (${i < every ? '' : '$root && '}$el > ${off}) {
      $en${i} = $el - ${off};
      if ($en${i} > ${ENV_CHUNK}) { $en${i} = ${ENV_CHUNK}; }
      printf("x\\t%llu\\t%d/%d\\t%d\\t%d\\t${off}\\t%r\\n", nsecs, pid, tid, $gen, $el, buf(uptr($es + ${off}), $en${i}));
    }`);
  }
  return lines.join('\n    ');
}

/** The probes of their own (new tracepoints). rebindFd(expr) flushes the counters of a reused fd number. */
export function hostProbes(rebindFd: (fdExpr: string) => string): string {
  const sc = (name: string) => `tracepoint:syscalls:sys_${name}`;
  return `
${sc('enter_mkdir')} /@t[pid]/ { @hmp[tid] = args->pathname; @hmd[tid] = ${AT_FDCWD}; @hmm[tid] = args->mode; }
${sc('enter_mkdirat')} /@t[pid]/ { @hmp[tid] = args->pathname; @hmd[tid] = args->dfd; @hmm[tid] = args->mode; }
${sc('exit_mkdir')}, ${sc('exit_mkdirat')} /@hmp[tid]/ {
  if (args->ret == 0) { printf("f\\t%llu\\t%d/%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, @hmd[tid], @hmm[tid], str(@hmp[tid])); }
  delete(@hmp[tid]); delete(@hmd[tid]); delete(@hmm[tid]);
}

${sc('enter_rmdir')} /@t[pid]/ { @hrp[tid] = args->pathname; }
${sc('exit_rmdir')} /@hrp[tid]/ {
  if (args->ret == 0) { printf("u\\t%llu\\t%d/%d\\t${AT_FDCWD}\\t%s\\n", nsecs, pid, tid, str(@hrp[tid])); }
  delete(@hrp[tid]);
}

${sc('enter_link')} /@t[pid]/ { @hlo[tid] = args->oldname; @hln[tid] = args->newname; @hlod[tid] = ${AT_FDCWD}; @hlnd[tid] = ${AT_FDCWD}; @hlk[tid] = 1; }
${sc('enter_linkat')} /@t[pid]/ { @hlo[tid] = args->oldname; @hln[tid] = args->newname; @hlod[tid] = args->olddfd; @hlnd[tid] = args->newdfd; @hlk[tid] = 1; }
${sc('enter_symlink')} /@t[pid]/ { @hlo[tid] = args->oldname; @hln[tid] = args->newname; @hlod[tid] = ${AT_FDCWD}; @hlnd[tid] = ${AT_FDCWD}; @hlk[tid] = 2; }
${sc('enter_symlinkat')} /@t[pid]/ { @hlo[tid] = args->oldname; @hln[tid] = args->newname; @hlod[tid] = ${AT_FDCWD}; @hlnd[tid] = args->newdfd; @hlk[tid] = 2; }
${sc('exit_link')}, ${sc('exit_linkat')}, ${sc('exit_symlink')}, ${sc('exit_symlinkat')} /@hlk[tid]/ {
  if (args->ret == 0) {
    printf("h\\t%llu\\t%d/%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, @hlk[tid] - 1, @hlod[tid], str(@hlo[tid]));
    printf("j\\t%llu\\t%d/%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, @hlk[tid] - 1, @hlnd[tid], str(@hln[tid]));
  }
  delete(@hlo[tid]); delete(@hln[tid]); delete(@hlod[tid]); delete(@hlnd[tid]); delete(@hlk[tid]);
}

${sc('enter_unshare')} /@t[pid]/ { @hnk[tid] = 1; @hnf[tid] = args->unshare_flags; @hnd[tid] = -1; }
${sc('enter_setns')} /@t[pid]/ { @hnk[tid] = 2; @hnf[tid] = (uint64)args->flags; @hnd[tid] = args->fd; }
${sc('exit_unshare')}, ${sc('exit_setns')} /@hnk[tid]/ {
  if (args->ret == 0) { printf("s\\t%llu\\t%d/%d\\t%d\\t%llu\\t%d\\n", nsecs, pid, tid, @hnk[tid] - 1, @hnf[tid], @hnd[tid]); }
  delete(@hnk[tid]); delete(@hnf[tid]); delete(@hnd[tid]);
}

${sc('enter_socket')} /@t[pid]/ {
  $fam = args->family; $type = args->type & 0xf;
  if ($fam == ${AF_PACKET} || ($fam != ${AF_NETLINK} && $type == ${SOCK_RAW})) {
    @hsf[tid] = $fam + 1; @hst[tid] = $type; @hsp[tid] = args->protocol;
  }
}
${sc('exit_socket')} /@hsf[tid]/ {
  $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    printf("r\\t%llu\\t%d/%d\\t%d\\t%d\\t%d\\t%d\\n", nsecs, pid, tid, $ret, @hsf[tid] - 1, @hst[tid], @hsp[tid]);
  }
  delete(@hsf[tid]); delete(@hst[tid]); delete(@hsp[tid]);
}

${sc('enter_userfaultfd')} /@t[pid]/ { @huf[tid] = args->flags + 1; }
${sc('exit_userfaultfd')} /@huf[tid]/ {
  $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    printf("q\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, $ret, @huf[tid] - 1);
  }
  delete(@huf[tid]);
}

${sc('enter_memfd_create')} /@t[pid]/ { @hfn[tid] = args->uname; @hff[tid] = args->flags; }
${sc('exit_memfd_create')} /@hfn[tid]/ {
  $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    printf("w\\t%llu\\t%d/%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, $ret, @hff[tid], str(@hfn[tid]));
  }
  delete(@hfn[tid]); delete(@hff[tid]);
}

${sc('enter_pidfd_open')} /@t[pid]/ { @hpo[tid] = args->pid + 1; }
${sc('exit_pidfd_open')} /@hpo[tid]/ {
  $ret = args->ret;
  if ($ret >= 0) {
    ${rebindFd('$ret')}
    printf("p\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, $ret, @hpo[tid] - 1);
  }
  delete(@hpo[tid]);
}

${sc('enter_pidfd_send_signal')} /@t[pid]/ { @hpf[tid] = args->pidfd + 1; @hps[tid] = args->sig; }
${sc('exit_pidfd_send_signal')} /@hpf[tid]/ {
  if (args->ret == 0 && @hps[tid] != 0) { printf("g\\t%llu\\t%d/%d\\t%d\\t%d\\n", nsecs, pid, tid, @hpf[tid] - 1, @hps[tid]); }
  delete(@hpf[tid]); delete(@hps[tid]);
}
`;
}

export function hostMapsClear(): string {
  return ['hmp', 'hmd', 'hmm', 'hrp', 'hlo', 'hln', 'hlod', 'hlnd', 'hlk', 'hnk', 'hnf', 'hnd', 'hsf', 'hst', 'hsp', 'huf', 'hfn', 'hff', 'hpo', 'hpf', 'hps']
    .map((m) => `clear(@${m});`)
    .join(' ');
}
