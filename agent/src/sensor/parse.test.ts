import { describe, expect, it } from '@jest/globals';
import { ParseError, decodeEscaped, parseLine } from './parse.js';

describe('parseLine', () => {
  it('keeps every byte of a path, tabs and newlines included', () => {
    const e = parseLine('O\t100\t42\t3\t524288\t-100\t/tmp/a\tb\nc "d"\n');
    expect(e).toMatchObject({ kind: 'open', ts: 100n, pid: 42, fd: 3, flags: 524288, dirfd: -100, path: '/tmp/a\tb\nc "d"', truncated: false });
  });

  it('marks paths that reached the string limit as truncated', () => {
    const e = parseLine(`O\t1\t2\t3\t0\t-100\t/${'x'.repeat(198)}`);
    expect(e).toMatchObject({ kind: 'open', truncated: true });
  });

  it('decodes argv from escaped NUL-separated bytes and flags a cut argv', () => {
    const e = parseLine('A\t5\t7\t1\t40\tcat\\x00/etc/hostname\\x00');
    expect(e).toMatchObject({ kind: 'argv', argv: ['cat', '/etc/hostname'], truncated: true });
    expect(decodeEscaped('a\\x09b').toString()).toBe('a\tb');
  });

  it('parses data, close and socket lines', () => {
    expect(parseLine('R\t9\t1\t2\t3\t100')).toMatchObject({ kind: 'read', gen: 2, fd: 3, bytes: 100 });
    expect(parseLine('L\t9\t1\t2\t3\t4\t5\t6\t7')).toMatchObject({ kind: 'close', rc: 4, rb: 5, wc: 6, wb: 7 });
    expect(parseLine('K\t9\t1\t3\t2\t8080\t127.0.0.1')).toMatchObject({ kind: 'connect', fd: 3, family: 2, port: 8080, address: '127.0.0.1' });
  });

  it('tells the acting thread where the program prints PID/TID, and new threads', () => {
    expect(parseLine('W\t9\t10/12\t1\t5\t3')).toMatchObject({ kind: 'write', pid: 10, tid: 12, fd: 5, bytes: 3 });
    expect(parseLine('W\t9\t10\t1\t5\t3')).not.toHaveProperty('tid'); // recordings made before
    expect(parseLine('t\t9\t10/11\t13')).toMatchObject({ kind: 'thread', pid: 10, tid: 11, child: 13 });
    expect(parseLine('U\t9\t10/11\t-100\t/tmp/a b')).toMatchObject({ kind: 'unlink', pid: 10, tid: 11, path: '/tmp/a b' });
    expect(() => parseLine('W\t9\t10/x\t1\t5\t3')).toThrow(ParseError);
  });

  it('parses invocation markers and refuses forged ones', () => {
    expect(parseLine('m\t9\t7\t8\tfaasprov:B:call-1')).toMatchObject({ kind: 'marker', pid: 7, tid: 8, phase: 'begin', callId: 'call-1' });
    expect(parseLine('m\t9\t7\t8\tfaasprov:E:call-1\n')).toMatchObject({ kind: 'marker', phase: 'end', callId: 'call-1' });
    expect(parseLine('m\t9\t7\t8\tfaasprov:B:call-2 get-price')).toMatchObject({ callId: 'call-2', function: 'get-price' });
    for (const bad of ['faasprov:X:c', 'faasprov:B:', 'faasprov:B:a b c', 'faasprov:B:a b/c', `faasprov:B:${'x'.repeat(129)}`]) {
      expect(() => parseLine(`m\t9\t7\t8\t${bad}`)).toThrow(ParseError);
    }
  });

  it('parses GPU calls with 64-bit pointers kept exact', () => {
    expect(parseLine('a\t9\t7\tcudaMalloc\t35\tffff7f00cafe0000\t4096')).toMatchObject({
      kind: 'gpu-alloc', api: 'cudaMalloc', rc: 35, ptr: '0xffff7f00cafe0000', size: 4096,
    });
    expect(parseLine('c\t9\t7\tcudaMemcpy\t0\t7f0000001000\t55d0\t1024\t1')).toMatchObject({ kind: 'gpu-copy', dst: '0x7f0000001000', src: '0x55d0', bytes: 1024, copyKind: 1 });
    expect(parseLine('l\t9\t7\tcudaLaunchKernel\t0\t55d0\tvecAdd')).toMatchObject({ kind: 'gpu-launch', func: '0x55d0', symbol: 'vecAdd' });
    expect(parseLine('l\t9\t7\tcuLaunchKernel\t0\t55d0\t-')).not.toHaveProperty('symbol');
    expect(() => parseLine('b\t9\t7\tcudaFree\t0\t0xzz')).toThrow(ParseError);
  });

  it('parses the host lines: failed opens, directories, links, namespaces, raw sockets, memfd, pidfd, environment', () => {
    expect(parseLine('O\t9\t1\t-13\t0\t-100\t/etc/shadow')).toMatchObject({ kind: 'open-failed', rc: -13, flags: 0, path: '/etc/shadow' });
    expect(parseLine('f\t9\t1\t-100\t493\t/etc/.x')).toMatchObject({ kind: 'mkdir', mode: 493, path: '/etc/.x' });
    expect(parseLine('u\t9\t1\t3\td')).toMatchObject({ kind: 'rmdir', dirfd: 3, path: 'd' });
    expect(parseLine('h\t9\t1\t1\t-100\t/etc/shadow')).toMatchObject({ kind: 'link-from', symbolic: true, path: '/etc/shadow' });
    expect(parseLine('j\t9\t1\t0\t-100\t/tmp/l')).toMatchObject({ kind: 'link-to', symbolic: false, path: '/tmp/l' });
    expect(parseLine('s\t9\t1\t1\t0\t5')).toMatchObject({ kind: 'namespace', call: 'setns', flags: 0, fd: 5 });
    expect(parseLine('r\t9\t1\t4\t17\t3\t768')).toMatchObject({ kind: 'raw-socket', fd: 4, family: 17, type: 3, protocol: 768 });
    expect(parseLine('q\t9\t1\t4\t0')).toMatchObject({ kind: 'userfaultfd', fd: 4 });
    expect(parseLine('w\t9\t1/2\t4\t1\tmy name')).toMatchObject({ kind: 'memfd', fd: 4, flags: 1, name: 'my name' });
    expect(parseLine('p\t9\t1\t4\t77')).toMatchObject({ kind: 'pidfd', fd: 4, target: 77 });
    expect(parseLine('g\t9\t1\t4\t15')).toMatchObject({ kind: 'pidfd-signal', pidfd: 4, signal: 15 });
    const env = parseLine('x\t9\t1\t2\t300\t190\tA=1\\x00B=2');
    expect(env).toMatchObject({ kind: 'exec-env', gen: 2, total: 300, offset: 190 });
    expect((env as { bytes: Buffer }).bytes.toString()).toBe('A=1\0B=2');
  });

  it('reads numbers in place: negative values, PID/TID, and no field too many or too few', () => {
    expect(parseLine('O\t1\t2/3\t-2\t0\t-100\t/etc/shadow')).toMatchObject({ kind: 'open-failed', pid: 2, tid: 3, rc: -2, dirfd: -100 });
    expect(parseLine('D\t5\t6\t3\t10\t1')).toMatchObject({ kind: 'dup', oldfd: 3, newfd: 10, cloexec: true });
    expect(parseLine('k\t18446744073709551615')).toMatchObject({ kind: 'counters-flushed', ts: 18446744073709551615n });
  });

  it.each(['', 'Q\tx\t1\t0', 'R\t1\t2', 'Ω\t1', 'O\t1\t2\t3\tflags\t-100\t/x', 'R\t9\t1\t2\t3\t100\t7', 'R\t9\t1/\t2\t3\t100', 'R\t9\t/1\t2\t3\t100',
    'L\t9\t1\t2\t3\t4\t5\t6\t', 'B\t-1', 'F\t1\t2\t-'])('rejects %j with a ParseError', (line) => {
    expect(() => parseLine(line)).toThrow(ParseError);
  });
});
