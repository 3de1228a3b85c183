import type { SensorEvent } from './events.js';
import { parseHostLine } from './parse-host.js';
import { ParseError } from './parse-error.js';
import { LineReader } from './line-reader.js';

/** The longest string bpftrace's str() returns with BPFTRACE_MAX_STRLEN=200 (one byte for NUL). */
export const STR_MAX = 199;

export { ParseError };

export function int(s: string | undefined, line: string): number {
  if (s === undefined || !/^-?\d+$/.test(s)) throw new ParseError(line, `bad integer ${JSON.stringify(s)}`);
  return Number(s);
}

/** Splits into n fields; the last keeps every tab it contains (a path may hold any byte). */
export function fields(data: string, n: number, line: string): string[] {
  const out: string[] = [];
  let rest = data;
  for (let i = 0; i < n - 1; i++) {
    const j = rest.indexOf('\t');
    if (j < 0) throw new ParseError(line, `expected ${n} fields`);
    out.push(rest.slice(0, j));
    rest = rest.slice(j + 1);
  }
  out.push(rest);
  return out;
}

/**
 * The acting process and thread: `PID/TID` on the lines whose thread decides the invocation unit
 * (program.ts), a bare PID elsewhere (and in recordings made before threads were told apart).
 */
export function who(s: string | undefined, line: string): { pid: number; tid?: number } {
  const m = s === undefined ? null : /^(\d+)\/(\d+)$/.exec(s);
  if (!m) return { pid: int(s, line) };
  return { pid: Number(m[1]), tid: Number(m[2]) };
}

/** Decodes bpftrace's %r output: printable bytes as is, the others as \xNN. */
export function decodeEscaped(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(...Buffer.from(s[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** An invocation marker as the template shim writes it; call ids are printable and bounded. */
const MARKER = /^faasprov:([BE]):([\x21-\x7e]{1,128})(?: ([A-Za-z0-9._-]{1,253}))?$/;

/** A pointer printed with %llx, kept as a 0x string (64-bit addresses do not fit a double). */
function hex(s: string | undefined, line: string): string {
  if (s === undefined || !/^[0-9a-f]{1,16}$/.test(s)) throw new ParseError(line, `bad pointer ${JSON.stringify(s)}`);
  return `0x${s}`;
}

/** Whether str() cut the path: it returned STR_MAX bytes. A UTF-16 unit is at most 3 UTF-8 bytes: short paths need no count. */
function isTruncated(p: string): boolean {
  return p.length * 3 >= STR_MAX && Buffer.byteLength(p, 'utf8') >= STR_MAX;
}

export function path(p: string): { path: string; truncated: boolean } {
  return { path: p, truncated: isTruncated(p) };
}

/** Parses one printf line of the program in program.ts, with or without its final newline. */
export function parseLine(data: string): SensorEvent {
  return parseFields(data.endsWith('\n') ? data.slice(0, -1) : data);
}

/** A kernel timestamp field of a line parsed by fields() (ns, unsigned): a function, not a closure made for every line. */
function timestamp(s: string | undefined, line: string): bigint {
  if (s === undefined || !/^\d+$/.test(s)) throw new ParseError(line, 'bad timestamp');
  return BigInt(s);
}

/** Parses one printf line of the program, its final newline removed (a path may end in one). */
export function parseFields(line: string): SensorEvent {
  const tag = line.slice(0, 2);
  const r = new LineReader(line);
  switch (tag) {
    case 'B\t': {
      const e = { kind: 'ready' as const, ts: r.ts(), pid: 0 };
      r.done();
      return e;
    }
    case 'X\t': {
      const t = r.ts();
      const e = r.who({ kind: 'exec' as const, ts: t, pid: 0, gen: 0, cgroup: '', uid: 0, euid: 0, exe: '', exeTruncated: false });
      e.gen = r.int();
      const cgroup = r.str();
      if (!/^\d+$/.test(cgroup)) throw new ParseError(line, 'bad cgroup id');
      e.cgroup = cgroup;
      e.uid = r.int();
      e.euid = r.int();
      const p = path(r.rest());
      e.exe = p.path;
      e.exeTruncated = p.truncated;
      return e;
    }
    case 'A\t': {
      const t = r.ts();
      const e = r.who({ kind: 'argv' as const, ts: t, pid: 0, gen: 0, argv: [] as string[], truncated: false });
      e.gen = r.int();
      const total = r.int();
      const bytes = decodeEscaped(r.rest());
      const parts = bytes.toString('utf8').split('\0');
      if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
      e.argv = parts;
      e.truncated = bytes.length < total;
      return e;
    }
    case 'F\t': {
      const t = r.ts();
      const e = r.who({ kind: 'fork' as const, ts: t, pid: 0, child: 0 });
      e.child = r.int();
      r.done();
      return e;
    }
    case 't\t': {
      const t = r.ts();
      const e = r.who({ kind: 'thread' as const, ts: t, pid: 0, tid: -1, child: 0 });
      if (e.tid < 0) e.tid = e.pid;
      e.child = r.int();
      r.done();
      return e;
    }
    case 'Q\t': {
      const t = r.ts();
      const e = r.who({ kind: 'exit' as const, ts: t, pid: 0, code: 0 });
      e.code = r.int();
      r.done();
      return e;
    }
    case 'O\t': {
      const t = r.ts();
      r.pt();
      const { pid, tid } = r;
      const fd = r.int();
      const flags = r.int();
      const dirfd = r.int();
      const p = r.rest();
      const truncated = isTruncated(p);
      if (fd < 0) {
        return tid < 0
          ? { kind: 'open-failed', ts: t, pid, rc: fd, flags, dirfd, path: p, truncated }
          : { kind: 'open-failed', ts: t, pid, tid, rc: fd, flags, dirfd, path: p, truncated };
      }
      return tid < 0 ? { kind: 'open', ts: t, pid, fd, flags, dirfd, path: p, truncated } : { kind: 'open', ts: t, pid, tid, fd, flags, dirfd, path: p, truncated };
    }
    case 'R\t':
    case 'W\t': {
      const kind = tag === 'R\t' ? ('read' as const) : ('write' as const);
      const t = r.ts();
      r.pt();
      const { pid, tid } = r;
      const gen = r.int();
      const fd = r.int();
      const bytes = r.int();
      r.done();
      return tid < 0 ? { kind, ts: t, pid, gen, fd, bytes } : { kind, ts: t, pid, tid, gen, fd, bytes };
    }
    case 'L\t':
    case 'C\t': {
      const kind = tag === 'L\t' ? ('close' as const) : ('flush' as const);
      const t = r.ts();
      r.pt();
      const { pid, tid } = r;
      const gen = r.int();
      const fd = r.int();
      const rc = r.int();
      const rb = r.int();
      const wc = r.int();
      const wb = r.int();
      r.done();
      return tid < 0 ? { kind, ts: t, pid, gen, fd, rc, rb, wc, wb } : { kind, ts: t, pid, tid, gen, fd, rc, rb, wc, wb };
    }
    case 'D\t': {
      const t = r.ts();
      const e = r.who({ kind: 'dup' as const, ts: t, pid: 0, oldfd: 0, newfd: 0, cloexec: false });
      e.oldfd = r.int();
      e.newfd = r.int();
      e.cloexec = r.rest() === '1';
      return e;
    }
    case 'N\t':
    case 'M\t':
    case 'U\t': {
      const kind = tag === 'N\t' ? ('rename-from' as const) : tag === 'M\t' ? ('rename-to' as const) : ('unlink' as const);
      const t = r.ts();
      const w = r.who({ pid: 0 } as { pid: number; tid?: number });
      const dirfd = r.int();
      return { kind, ts: t, ...w, dirfd, ...path(r.rest()) };
    }
    case 'K\t':
    case 'I\t': {
      const t = r.ts();
      const e = r.who({ kind: tag === 'K\t' ? ('connect' as const) : ('bind' as const), ts: t, pid: 0, fd: 0, family: 0, port: 0, address: '' });
      e.fd = r.int();
      e.family = r.int();
      e.port = r.int();
      e.address = r.rest();
      return e;
    }
    case 'Y\t': {
      const t = r.ts();
      const e = r.who({ kind: 'accept' as const, ts: t, pid: 0, lfd: 0, fd: 0, family: 0, port: 0, address: '' });
      e.lfd = r.int();
      e.fd = r.int();
      e.family = r.int();
      e.port = r.int();
      e.address = r.rest();
      return e;
    }
    case 'P\t': {
      const t = r.ts();
      const e = r.who({ kind: 'pipe' as const, ts: t, pid: 0, socketpair: false, rfd: 0, wfd: 0 });
      e.socketpair = r.str() === '1';
      e.rfd = r.int();
      e.wfd = r.int();
      r.done();
      return e;
    }
    case 'E\t': {
      const t = r.ts();
      const e = r.who({ kind: 'mmap-exec' as const, ts: t, pid: 0, gen: 0, fd: 0, length: 0 });
      e.gen = r.int();
      e.fd = r.int();
      e.length = r.int();
      r.done();
      return e;
    }
    case 'S\t': {
      const t = r.ts();
      const e = r.who({ kind: 'setid' as const, ts: t, pid: 0, uid: 0, euid: 0, gid: 0, egid: 0 });
      e.uid = r.int();
      e.euid = r.int();
      e.gid = r.int();
      e.egid = r.int();
      r.done();
      return e;
    }
    case 'G\t': {
      const t = r.ts();
      const e = r.who({ kind: 'kill' as const, ts: t, pid: 0, target: 0, signal: 0 });
      e.target = r.int();
      e.signal = r.int();
      r.done();
      return e;
    }
    case 'T\t': {
      const t = r.ts();
      const e = r.who({ kind: 'ptrace' as const, ts: t, pid: 0, request: 0, target: 0 });
      e.request = r.int();
      e.target = r.int();
      r.done();
      return e;
    }
    case 'V\t': {
      const t = r.ts();
      const w = r.who({ pid: 0 } as { pid: number; tid?: number });
      const dirfd = r.int();
      const mode = r.int();
      return { kind: 'chmod', ts: t, ...w, dirfd, mode, ...path(r.rest()) };
    }
    case 'v\t': {
      const t = r.ts();
      const e = r.who({ kind: 'fchmod' as const, ts: t, pid: 0, fd: 0, mode: 0 });
      e.fd = r.int();
      e.mode = r.int();
      r.done();
      return e;
    }
    case 'n\t': {
      const t = r.ts();
      const w = r.who({ pid: 0 } as { pid: number; tid?: number });
      const dirfd = r.int();
      const length = r.int();
      return { kind: 'truncate', ts: t, ...w, dirfd, length, ...path(r.rest()) };
    }
    case 'e\t': {
      const t = r.ts();
      const e = r.who({ kind: 'ftruncate' as const, ts: t, pid: 0, fd: 0, length: 0 });
      e.fd = r.int();
      e.length = r.int();
      r.done();
      return e;
    }
    case 'k\t': {
      const e = { kind: 'counters-flushed' as const, ts: r.ts(), pid: 0, dump: [] };
      r.done();
      return e;
    }
    case 'z\t': {
      const e = { kind: 'stopped' as const, ts: r.ts(), pid: 0 };
      r.done();
      return e;
    }
    case 'H\t': {
      const t = r.ts();
      const w = r.who({ pid: 0 } as { pid: number; tid?: number });
      return { kind: 'chdir', ts: t, ...w, ...path(r.rest()) };
    }
    case 'J\t': {
      const t = r.ts();
      const e = r.who({ kind: 'fchdir' as const, ts: t, pid: 0, fd: 0 });
      e.fd = r.int();
      r.done();
      return e;
    }
    case 'Z\t': {
      const t = r.ts();
      const e = r.who({ kind: 'close-range' as const, ts: t, pid: 0, first: 0, last: 0 });
      e.first = r.int();
      e.last = r.int();
      r.done();
      return e;
    }
    case 'm\t': {
      const [, t, pid, tid, text] = fields(line, 5, line);
      const m = MARKER.exec(text!.replace(/\n$/, ''));
      if (!m) throw new ParseError(line, 'not an invocation marker');
      const e: SensorEvent = { kind: 'marker', ts: timestamp(t, line), pid: int(pid, line), tid: int(tid, line), phase: m[1] === 'B' ? 'begin' : 'end', callId: m[2]! };
      if (m[3]) e.function = m[3];
      return e;
    }
    case 'a\t': {
      const [, t, pid, api, rc, ptr, size] = fields(line, 7, line);
      return { kind: 'gpu-alloc', ts: timestamp(t, line), ...who(pid, line), api: api!, rc: int(rc, line), ptr: hex(ptr, line), size: int(size, line) };
    }
    case 'b\t': {
      const [, t, pid, api, rc, ptr] = fields(line, 6, line);
      return { kind: 'gpu-free', ts: timestamp(t, line), ...who(pid, line), api: api!, rc: int(rc, line), ptr: hex(ptr, line) };
    }
    case 'c\t': {
      const [, t, pid, api, rc, dst, src, n, kind] = fields(line, 9, line);
      return {
        kind: 'gpu-copy', ts: timestamp(t, line), ...who(pid, line), api: api!, rc: int(rc, line),
        dst: hex(dst, line), src: hex(src, line), bytes: int(n, line), copyKind: int(kind, line),
      };
    }
    case 'l\t': {
      const [, t, pid, api, rc, func, symbol] = fields(line, 7, line);
      const e: SensorEvent = { kind: 'gpu-launch', ts: timestamp(t, line), ...who(pid, line), api: api!, rc: int(rc, line), func: hex(func, line) };
      if (symbol && symbol !== '-' && !/^0x[0-9a-f]+$/.test(symbol)) e.symbol = symbol;
      return e;
    }
    case 'd\t': {
      const [, t, pid, api, rc, device] = fields(line, 6, line);
      return { kind: 'gpu-device', ts: timestamp(t, line), ...who(pid, line), api: api!, rc: int(rc, line), device: int(device, line) };
    }
    default:
      return parseHostLine(line, tag, (s) => timestamp(s, line));
  }
}
