/** Syscall-layer events as the parser hands them on; ts is kernel monotonic time in ns. */
interface Base {
  ts: bigint;
  pid: number;
}
export type SensorEvent =
  | (Base & { kind: 'ready' })
  | (Base & { kind: 'exec'; gen: number; exe: string; exeTruncated: boolean })
  | (Base & { kind: 'argv'; gen: number; argv: string[]; truncated: boolean })
  | (Base & { kind: 'fork'; child: number })
  | (Base & { kind: 'exit'; code: number })
  | (Base & { kind: 'open'; fd: number; flags: number; dirfd: number; path: string; truncated: boolean })
  | (Base & { kind: 'read' | 'write'; gen: number; fd: number; bytes: number })
  | (Base & { kind: 'close' | 'flush'; gen: number; fd: number; rc: number; rb: number; wc: number; wb: number })
  | (Base & { kind: 'dup'; oldfd: number; newfd: number; cloexec: boolean })
  | (Base & { kind: 'rename-from' | 'rename-to' | 'unlink'; dirfd: number; path: string; truncated: boolean })
  | (Base & { kind: 'connect' | 'accept'; fd: number; family: number; port: number; address: string })
  | (Base & { kind: 'chdir'; path: string; truncated: boolean })
  | (Base & { kind: 'fchdir'; fd: number })
  | (Base & { kind: 'close-range'; first: number; last: number });

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
