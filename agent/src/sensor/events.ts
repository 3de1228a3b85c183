/** Syscall-layer events as the parser hands them on; ts is kernel monotonic time in ns. */
interface Base {
  ts: bigint;
  pid: number;
  /** The acting thread, on the events whose thread decides the invocation unit (else absent). */
  tid?: number;
}
export type SensorEvent =
  | (Base & { kind: 'ready' })
  | (Base & { kind: 'exec'; gen: number; cgroup: string; uid: number; euid: number; exe: string; exeTruncated: boolean })
  | (Base & { kind: 'argv'; gen: number; argv: string[]; truncated: boolean })
  | (Base & { kind: 'fork'; child: number })
  | (Base & { kind: 'thread'; tid: number; child: number })
  | (Base & { kind: 'exit'; code: number })
  | (Base & { kind: 'open'; fd: number; flags: number; dirfd: number; path: string; truncated: boolean })
  /** A failed open of a path under a sensitive prefix: rc is -errno. */
  | (Base & { kind: 'open-failed'; rc: number; flags: number; dirfd: number; path: string; truncated: boolean })
  | (Base & { kind: 'mkdir'; dirfd: number; mode: number; path: string; truncated: boolean })
  | (Base & { kind: 'rmdir'; dirfd: number; path: string; truncated: boolean })
  /** link-from: the existing path (hard) or the target text (symbolic); link-to: the new name. */
  | (Base & { kind: 'link-from' | 'link-to'; symbolic: boolean; dirfd: number; path: string; truncated: boolean })
  /** unshare (flags: CLONE_NEW*) or setns (flags: the namespace type asked for, fd: the namespace's fd). */
  | (Base & { kind: 'namespace'; call: 'unshare' | 'setns'; flags: number; fd: number })
  | (Base & { kind: 'raw-socket'; fd: number; family: number; type: number; protocol: number })
  | (Base & { kind: 'userfaultfd'; fd: number; flags: number })
  | (Base & { kind: 'memfd'; fd: number; flags: number; name: string })
  | (Base & { kind: 'pidfd'; fd: number; target: number })
  | (Base & { kind: 'pidfd-signal'; pidfd: number; signal: number })
  /** A chunk of an exec's environment (bytes at offset of total). */
  | (Base & { kind: 'exec-env'; gen: number; total: number; offset: number; bytes: Buffer })
  | (Base & { kind: 'read' | 'write'; gen: number; fd: number; bytes: number })
  | (Base & { kind: 'close' | 'flush'; gen: number; fd: number; rc: number; rb: number; wc: number; wb: number })
  | (Base & { kind: 'dup'; oldfd: number; newfd: number; cloexec: boolean })
  | (Base & { kind: 'rename-from' | 'rename-to' | 'unlink'; dirfd: number; path: string; truncated: boolean })
  | (Base & { kind: 'connect' | 'bind'; fd: number; family: number; port: number; address: string })
  | (Base & { kind: 'accept'; lfd: number; fd: number; family: number; port: number; address: string })
  | (Base & { kind: 'pipe'; socketpair: boolean; rfd: number; wfd: number })
  | (Base & { kind: 'mmap-exec'; gen: number; fd: number; length: number })
  | (Base & { kind: 'setid'; uid: number; euid: number; gid: number; egid: number })
  | (Base & { kind: 'kill'; target: number; signal: number })
  | (Base & { kind: 'ptrace'; request: number; target: number })
  | (Base & { kind: 'chmod'; dirfd: number; mode: number; path: string; truncated: boolean })
  | (Base & { kind: 'fchmod'; fd: number; mode: number })
  | (Base & { kind: 'truncate'; dirfd: number; length: number; path: string; truncated: boolean })
  | (Base & { kind: 'ftruncate'; fd: number; length: number })
  | (Base & { kind: 'counters-flushed'; dump: CounterDump[] })
  /** The program's stop probe ran: every line before this one is the whole capture. */
  | (Base & { kind: 'stopped' })
  | (Base & { kind: 'chdir'; path: string; truncated: boolean })
  | (Base & { kind: 'fchdir'; fd: number })
  | (Base & { kind: 'close-range'; first: number; last: number })
  | (Base & { kind: 'marker'; tid: number; phase: 'begin' | 'end'; callId: string; function?: string })
  | (Base & { kind: 'gpu-alloc'; api: string; rc: number; ptr: string; size: number })
  | (Base & { kind: 'gpu-free'; api: string; rc: number; ptr: string })
  | (Base & { kind: 'gpu-copy'; api: string; rc: number; dst: string; src: string; bytes: number; copyKind: number })
  | (Base & { kind: 'gpu-launch'; api: string; rc: number; func: string; symbol?: string })
  | (Base & { kind: 'gpu-device'; api: string; rc: number; device: number });

export type SensorEventKind = SensorEvent['kind'];

/** Counters left in kernel maps at the end of a capture (exits without close). */
export interface CounterDump {
  pid: number;
  gen: number;
  fd: number;
  rc: number;
  rb: number;
  wc: number;
  wb: number;
}
