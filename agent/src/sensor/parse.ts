import type { SensorEvent } from './events.js';
import { parseHostLine } from './parse-host.js';

/** The longest string bpftrace's str() returns with BPFTRACE_MAX_STRLEN=200 (one byte for NUL). */
export const STR_MAX = 199;

export class ParseError extends Error {
  constructor(readonly line: string, why: string) {
    super(`cannot parse bpftrace line (${why}): ${line.slice(0, 200)}`);
  }
}

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

export function path(p: string): { path: string; truncated: boolean } {
  return { path: p, truncated: Buffer.byteLength(p, 'utf8') >= STR_MAX };
}

/** Parses the data of one printf line of the program in program.ts. */
export function parseLine(data: string): SensorEvent {
  const line = data.endsWith('\n') ? data.slice(0, -1) : data;
  const tag = line.slice(0, 2);
  const ts = (s: string | undefined): bigint => {
    if (s === undefined || !/^\d+$/.test(s)) throw new ParseError(line, 'bad timestamp');
    return BigInt(s);
  };
  switch (tag) {
    case 'B\t': {
      const [, t] = fields(line, 2, line);
      return { kind: 'ready', ts: ts(t), pid: 0 };
    }
    case 'X\t': {
      const [, t, pid, gen, cgroup, uid, euid, exe] = fields(line, 8, line);
      const p = path(exe!);
      if (!/^\d+$/.test(cgroup!)) throw new ParseError(line, 'bad cgroup id');
      return {
        kind: 'exec', ts: ts(t), ...who(pid, line), gen: int(gen, line), cgroup: cgroup!,
        uid: int(uid, line), euid: int(euid, line), exe: p.path, exeTruncated: p.truncated,
      };
    }
    case 'A\t': {
      const [, t, pid, gen, len, raw] = fields(line, 6, line);
      const bytes = decodeEscaped(raw!);
      const total = int(len, line);
      const parts = bytes.toString('utf8').split('\0');
      if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
      return { kind: 'argv', ts: ts(t), ...who(pid, line), gen: int(gen, line), argv: parts, truncated: bytes.length < total };
    }
    case 'F\t': {
      const [, t, ppid, child] = fields(line, 4, line);
      return { kind: 'fork', ts: ts(t), ...who(ppid, line), child: int(child, line) };
    }
    case 't\t': {
      const [, t, pid, child] = fields(line, 4, line);
      const e = who(pid, line);
      return { kind: 'thread', ts: ts(t), pid: e.pid, tid: e.tid ?? e.pid, child: int(child, line) };
    }
    case 'Q\t': {
      const [, t, pid, code] = fields(line, 4, line);
      return { kind: 'exit', ts: ts(t), ...who(pid, line), code: int(code, line) };
    }
    case 'O\t': {
      const [, t, pid, fd, flags, dirfd, p] = fields(line, 7, line);
      const n = int(fd, line);
      if (n < 0) return { kind: 'open-failed', ts: ts(t), ...who(pid, line), rc: n, flags: int(flags, line), dirfd: int(dirfd, line), ...path(p!) };
      return { kind: 'open', ts: ts(t), ...who(pid, line), fd: n, flags: int(flags, line), dirfd: int(dirfd, line), ...path(p!) };
    }
    case 'R\t':
    case 'W\t': {
      const [, t, pid, gen, fd, bytes] = fields(line, 6, line);
      return { kind: tag === 'R\t' ? 'read' : 'write', ts: ts(t), ...who(pid, line), gen: int(gen, line), fd: int(fd, line), bytes: int(bytes, line) };
    }
    case 'L\t':
    case 'C\t': {
      const [, t, pid, gen, fd, rc, rb, wc, wb] = fields(line, 9, line);
      return {
        kind: tag === 'L\t' ? 'close' : 'flush',
        ts: ts(t), ...who(pid, line), gen: int(gen, line), fd: int(fd, line),
        rc: int(rc, line), rb: int(rb, line), wc: int(wc, line), wb: int(wb, line),
      };
    }
    case 'D\t': {
      const [, t, pid, oldfd, newfd, cloexec] = fields(line, 6, line);
      return { kind: 'dup', ts: ts(t), ...who(pid, line), oldfd: int(oldfd, line), newfd: int(newfd, line), cloexec: cloexec === '1' };
    }
    case 'N\t':
    case 'M\t':
    case 'U\t': {
      const [, t, pid, dirfd, p] = fields(line, 5, line);
      const kind = tag === 'N\t' ? 'rename-from' : tag === 'M\t' ? 'rename-to' : 'unlink';
      return { kind, ts: ts(t), ...who(pid, line), dirfd: int(dirfd, line), ...path(p!) };
    }
    case 'K\t':
    case 'I\t': {
      const [, t, pid, fd, family, port, address] = fields(line, 7, line);
      return {
        kind: tag === 'K\t' ? 'connect' : 'bind',
        ts: ts(t), ...who(pid, line), fd: int(fd, line), family: int(family, line), port: int(port, line), address: address!,
      };
    }
    case 'Y\t': {
      const [, t, pid, lfd, fd, family, port, address] = fields(line, 8, line);
      return {
        kind: 'accept', ts: ts(t), ...who(pid, line), lfd: int(lfd, line), fd: int(fd, line),
        family: int(family, line), port: int(port, line), address: address!,
      };
    }
    case 'P\t': {
      const [, t, pid, kind, rfd, wfd] = fields(line, 6, line);
      return { kind: 'pipe', ts: ts(t), ...who(pid, line), socketpair: kind === '1', rfd: int(rfd, line), wfd: int(wfd, line) };
    }
    case 'E\t': {
      const [, t, pid, gen, fd, len] = fields(line, 6, line);
      return { kind: 'mmap-exec', ts: ts(t), ...who(pid, line), gen: int(gen, line), fd: int(fd, line), length: int(len, line) };
    }
    case 'S\t': {
      const [, t, pid, uid, euid, gid, egid] = fields(line, 7, line);
      return { kind: 'setid', ts: ts(t), ...who(pid, line), uid: int(uid, line), euid: int(euid, line), gid: int(gid, line), egid: int(egid, line) };
    }
    case 'G\t': {
      const [, t, pid, target, sig] = fields(line, 5, line);
      return { kind: 'kill', ts: ts(t), ...who(pid, line), target: int(target, line), signal: int(sig, line) };
    }
    case 'T\t': {
      const [, t, pid, req, target] = fields(line, 5, line);
      return { kind: 'ptrace', ts: ts(t), ...who(pid, line), request: int(req, line), target: int(target, line) };
    }
    case 'V\t': {
      const [, t, pid, dirfd, mode, p] = fields(line, 6, line);
      return { kind: 'chmod', ts: ts(t), ...who(pid, line), dirfd: int(dirfd, line), mode: int(mode, line), ...path(p!) };
    }
    case 'v\t': {
      const [, t, pid, fd, mode] = fields(line, 5, line);
      return { kind: 'fchmod', ts: ts(t), ...who(pid, line), fd: int(fd, line), mode: int(mode, line) };
    }
    case 'n\t': {
      const [, t, pid, dirfd, len, p] = fields(line, 6, line);
      return { kind: 'truncate', ts: ts(t), ...who(pid, line), dirfd: int(dirfd, line), length: int(len, line), ...path(p!) };
    }
    case 'e\t': {
      const [, t, pid, fd, len] = fields(line, 5, line);
      return { kind: 'ftruncate', ts: ts(t), ...who(pid, line), fd: int(fd, line), length: int(len, line) };
    }
    case 'k\t': {
      const [, t] = fields(line, 2, line);
      return { kind: 'counters-flushed', ts: ts(t), pid: 0, dump: [] };
    }
    case 'z\t': {
      const [, t] = fields(line, 2, line);
      return { kind: 'stopped', ts: ts(t), pid: 0 };
    }
    case 'H\t': {
      const [, t, pid, p] = fields(line, 4, line);
      return { kind: 'chdir', ts: ts(t), ...who(pid, line), ...path(p!) };
    }
    case 'J\t': {
      const [, t, pid, fd] = fields(line, 4, line);
      return { kind: 'fchdir', ts: ts(t), ...who(pid, line), fd: int(fd, line) };
    }
    case 'Z\t': {
      const [, t, pid, first, last] = fields(line, 5, line);
      return { kind: 'close-range', ts: ts(t), ...who(pid, line), first: int(first, line), last: int(last, line) };
    }
    case 'm\t': {
      const [, t, pid, tid, text] = fields(line, 5, line);
      const m = MARKER.exec(text!.replace(/\n$/, ''));
      if (!m) throw new ParseError(line, 'not an invocation marker');
      const e: SensorEvent = { kind: 'marker', ts: ts(t), pid: int(pid, line), tid: int(tid, line), phase: m[1] === 'B' ? 'begin' : 'end', callId: m[2]! };
      if (m[3]) e.function = m[3];
      return e;
    }
    case 'a\t': {
      const [, t, pid, api, rc, ptr, size] = fields(line, 7, line);
      return { kind: 'gpu-alloc', ts: ts(t), ...who(pid, line), api: api!, rc: int(rc, line), ptr: hex(ptr, line), size: int(size, line) };
    }
    case 'b\t': {
      const [, t, pid, api, rc, ptr] = fields(line, 6, line);
      return { kind: 'gpu-free', ts: ts(t), ...who(pid, line), api: api!, rc: int(rc, line), ptr: hex(ptr, line) };
    }
    case 'c\t': {
      const [, t, pid, api, rc, dst, src, n, kind] = fields(line, 9, line);
      return {
        kind: 'gpu-copy', ts: ts(t), ...who(pid, line), api: api!, rc: int(rc, line),
        dst: hex(dst, line), src: hex(src, line), bytes: int(n, line), copyKind: int(kind, line),
      };
    }
    case 'l\t': {
      const [, t, pid, api, rc, func, symbol] = fields(line, 7, line);
      const e: SensorEvent = { kind: 'gpu-launch', ts: ts(t), ...who(pid, line), api: api!, rc: int(rc, line), func: hex(func, line) };
      if (symbol && symbol !== '-' && !/^0x[0-9a-f]+$/.test(symbol)) e.symbol = symbol;
      return e;
    }
    case 'd\t': {
      const [, t, pid, api, rc, device] = fields(line, 6, line);
      return { kind: 'gpu-device', ts: ts(t), ...who(pid, line), api: api!, rc: int(rc, line), device: int(device, line) };
    }
    default:
      return parseHostLine(line, tag, ts);
  }
}
