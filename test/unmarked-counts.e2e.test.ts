import { describe, expect, it } from '@jest/globals';
import { kernelLinesOf } from './kernel-lines.js';

// Which ops the kernel prints one by one and which it only counts. A process that never wrote an
// invocation marker (a watchdog, a plain command) serves no invocation: a new thread on an fd is
// not news there (Go's runtime hands one connection from thread to thread), so it is counted; in a
// process that has written a marker it may be another invocation's, so it is printed. An eventfd
// carries a wake-up count, not data: its ops are counted, never printed. Either way no op is lost:
// the printed ops and the close's counts add up to every one.
const SCRIPT = `
import os, socket, sys, threading
marked = sys.argv[1] == 'marked'
sys.stdin.readline()
if marked:
    null = os.open('/dev/null', os.O_WRONLY)
    os.write(null, b'faasprov:B:call-1 fn')
a, b = socket.socketpair()
for i in range(5):
    for n in (3, 4):
        t = threading.Thread(target=os.write, args=(a.fileno(), b'q' * n))
        t.start()
        t.join()
efd = os.eventfd(0)
for i in range(3):
    os.eventfd_write(efd, 1)
os.eventfd_read(efd)
if marked:
    os.write(null, b'faasprov:E:call-1')
print(a.fileno(), efd, flush=True)
a.close()
os.close(efd)
`;

async function capture(mode: 'marked' | 'plain'): Promise<{ fds: number[]; lines: string[] }> {
  const { said, lines } = await kernelLinesOf(SCRIPT, [mode]);
  return { fds: said.trim().split(' ').map(Number), lines };
}

/** An fd's printed ops ([R|W, bytes]), its counter lines (C) and its close's counts (rc rb wc wb). */
function ops(lines: string[], fd: number): { printed: [string, number][]; flushes: number; close: number[] } {
  const on = (l: string) => Number(l.split('\t')[4]) === fd;
  return {
    printed: lines.filter((l) => /^[RW]\t/.test(l) && on(l)).map((l) => [l[0]!, Number(l.split('\t')[5])] as [string, number]),
    flushes: lines.filter((l) => l.startsWith('C\t') && on(l)).length,
    close: lines.find((l) => l.startsWith('L\t') && on(l))?.split('\t').slice(5, 9).map(Number) ?? [],
  };
}

describe('the kernel prints an op when it may be news, and counts the rest', () => {
  it('counts the writes of new threads in a process that never wrote a marker, and every eventfd op', async () => {
    const { fds: [sock = -1, efd = -2], lines } = await capture('plain');
    // Ten writes, each from a thread of its own (3 and 4 bytes in turn): the first printed, nine counted.
    expect(ops(lines, sock)).toEqual({ printed: [['W', 3]], flushes: 0, close: [0, 0, 9, 32] });
    // Three writes and a read of 8 bytes each, none printed.
    expect(ops(lines, efd)).toEqual({ printed: [], flushes: 0, close: [1, 8, 3, 24] });
  }, 180000);

  it('prints the first write of each new thread in a process that wrote a marker', async () => {
    const { fds: [sock = -1, efd = -2], lines } = await capture('marked');
    expect(lines.filter((l) => l.startsWith('m\t'))).toHaveLength(2);
    expect(ops(lines, sock)).toEqual({ printed: Array.from({ length: 5 }, () => [['W', 3], ['W', 4]] as [string, number][]).flat(), flushes: 0, close: [0, 0, 0, 0] });
    expect(ops(lines, efd)).toEqual({ printed: [], flushes: 0, close: [1, 8, 3, 24] });
  }, 180000);
});

// The marker flag and the image's generation share one map entry (@g[pid]): a marker must not
// show in any printed generation, and it stays across an exec (as the process's own flag did).
const EXEC_AFTER = `
import os, socket, threading
a, b = socket.socketpair()
for n in (5, 6):
    t = threading.Thread(target=os.write, args=(a.fileno(), b'q' * n))
    t.start()
    t.join()
print(a.fileno(), flush=True)
`;
const EXEC_SCRIPT = `
import os, socket, sys, threading
sys.stdin.readline()
null = os.open('/dev/null', os.O_WRONLY)
os.write(null, b'faasprov:B:call-1 fn')
a, b = socket.socketpair()
for n in (3, 4):
    t = threading.Thread(target=os.write, args=(a.fileno(), b'q' * n))
    t.start()
    t.join()
print(a.fileno(), flush=True)
os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])
`;

describe('a marked process across an exec', () => {
  it('prints each image generation as it is and keeps printing new threads\' ops after the exec', async () => {
    const { said, lines } = await kernelLinesOf(EXEC_SCRIPT, [EXEC_AFTER]);
    const [before = -1, after = -2] = said.trim().split('\n').map(Number);
    // tag ts pid gen ...: the lines that carry the image's generation.
    const gens = lines.filter((l) => /^[XARWLCE]\t/.test(l)).map((l) => Number(l.split('\t')[3]));
    expect(gens.length).toBeGreaterThan(0);
    expect(new Set(gens)).toEqual(new Set([0, 1]));
    expect(lines.filter((l) => l.startsWith('X\t')).map((l) => l.split('\t')[3])).toEqual(['1']);
    const writes = (gen: number, fd: number) =>
      lines.filter((l) => l.startsWith('W\t') && l.split('\t')[3] === String(gen) && Number(l.split('\t')[4]) === fd).map((l) => Number(l.split('\t')[5]));
    expect(writes(0, before)).toEqual([3, 4]);
    expect(writes(1, after)).toEqual([5, 6]);
  }, 180000);
});
