import { describe, expect, it } from '@jest/globals';
import { kernelLinesOf } from './kernel-lines.js';

// A shim's markers go to /dev/null: the kernel prints the marker but follows no /dev/null write to
// its exit (no W or C line). A descriptor number that once was /dev/null and is reused without an
// open (dup2, close_range then a socketpair) must still have its writes reported. An epoll fd's
// close is not printed (nothing made it known); a file's is.
const SCRIPT = `
import os, select, socket, sys
sys.stdin.readline()
null1 = os.open('/dev/null', os.O_WRONLY)
os.write(null1, b'faasprov:B:call-1 fn')
os.write(null1, b'not a marker, still /dev/null')
os.write(null1, b'faasprov:E:call-1')
r, w = os.pipe()
os.dup2(w, null1)  # no close(): the number now names a pipe
os.write(null1, b'x' * 7)
null2 = os.open('/dev/null', os.O_WRONLY)
os.closerange(null2, null2 + 1)  # close_range(2)
a, b = socket.socketpair()
os.write(a.fileno(), b'y' * 5)
ep = select.epoll()
EP = ep.fileno()
f = os.open('/etc/hostname', os.O_RDONLY)
ep.close()  # an epoll fd: nothing the agent knows of
os.close(f)
print(null1, null2, a.fileno(), EP, f, flush=True)
`;

describe('lines the agent would drop are not printed', () => {
  it('prints the markers but no data line for /dev/null, the writes of what reuses its number without an open, and no close of an epoll fd', async () => {
    const { said, lines: mine } = await kernelLinesOf(SCRIPT);
    const [null1 = -1, null2 = -1, reused = -2, epoll = -3, file = -4] = said.trim().split(' ').map(Number);
    expect(reused).toBe(null2);
    expect(mine.filter((l) => l.startsWith('m\t')).map((l) => l.split('\t')[4])).toEqual(['faasprov:B:call-1 fn', 'faasprov:E:call-1']);
    const opens = mine.filter((l) => l.startsWith('O\t') && l.endsWith('\t/dev/null')).map((l) => Number(l.split('\t')[3]));
    expect(opens).toEqual([null1, null2]);
    // No line for the writes to /dev/null; the pipe's and the socket's writes on the reused numbers are there.
    const data = (fd: number) => mine.filter((l) => /^[WC]\t/.test(l) && Number(l.split('\t')[4]) === fd).map((l) => [l[0], Number(l.split('\t')[5])]);
    expect(data(null1)).toEqual([['W', 7]]);
    expect(data(null2)).toEqual([['W', 5]]);
    // The file's close is printed, the epoll fd's is not.
    const closes = mine.filter((l) => l.startsWith('L\t')).map((l) => Number(l.split('\t')[4]));
    expect(closes.filter((fd) => fd === epoll || fd === file)).toEqual([file]);
  }, 180000);
});
