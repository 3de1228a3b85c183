import type { SensorEvent } from './events.js';
import { ParseError, decodeEscaped, fields, int, path, who } from './parse.js';

/** Parses the lines of host-probes.ts (directories, links, namespaces, raw sockets, memfd, pidfd, environment). */
export function parseHostLine(line: string, tag: string, ts: (s: string | undefined) => bigint): SensorEvent {
  switch (tag) {
    case 'f\t': {
      const [, t, pid, dirfd, mode, p] = fields(line, 6, line);
      return { kind: 'mkdir', ts: ts(t), ...who(pid, line), dirfd: int(dirfd, line), mode: int(mode, line), ...path(p!) };
    }
    case 'u\t': {
      const [, t, pid, dirfd, p] = fields(line, 5, line);
      return { kind: 'rmdir', ts: ts(t), ...who(pid, line), dirfd: int(dirfd, line), ...path(p!) };
    }
    case 'h\t':
    case 'j\t': {
      const [, t, pid, kind, dirfd, p] = fields(line, 6, line);
      return { kind: tag === 'h\t' ? 'link-from' : 'link-to', ts: ts(t), ...who(pid, line), symbolic: kind === '1', dirfd: int(dirfd, line), ...path(p!) };
    }
    case 's\t': {
      const [, t, pid, kind, flags, fd] = fields(line, 6, line);
      return { kind: 'namespace', ts: ts(t), ...who(pid, line), call: kind === '1' ? 'setns' : 'unshare', flags: int(flags, line), fd: int(fd, line) };
    }
    case 'r\t': {
      const [, t, pid, fd, family, type, protocol] = fields(line, 7, line);
      return { kind: 'raw-socket', ts: ts(t), ...who(pid, line), fd: int(fd, line), family: int(family, line), type: int(type, line), protocol: int(protocol, line) };
    }
    case 'q\t': {
      const [, t, pid, fd, flags] = fields(line, 5, line);
      return { kind: 'userfaultfd', ts: ts(t), ...who(pid, line), fd: int(fd, line), flags: int(flags, line) };
    }
    case 'w\t': {
      const [, t, pid, fd, flags, name] = fields(line, 6, line);
      return { kind: 'memfd', ts: ts(t), ...who(pid, line), fd: int(fd, line), flags: int(flags, line), name: name! };
    }
    case 'p\t': {
      const [, t, pid, fd, target] = fields(line, 5, line);
      return { kind: 'pidfd', ts: ts(t), ...who(pid, line), fd: int(fd, line), target: int(target, line) };
    }
    case 'g\t': {
      const [, t, pid, pidfd, sig] = fields(line, 5, line);
      return { kind: 'pidfd-signal', ts: ts(t), ...who(pid, line), pidfd: int(pidfd, line), signal: int(sig, line) };
    }
    case 'x\t': {
      const [, t, pid, gen, total, offset, raw] = fields(line, 7, line);
      return { kind: 'exec-env', ts: ts(t), ...who(pid, line), gen: int(gen, line), total: int(total, line), offset: int(offset, line), bytes: decodeEscaped(raw!) };
    }
    default:
      throw new ParseError(line, 'unknown tag');
  }
}
