import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { bpftraceEnv, buildProgram, defaultBpftrace } from '@faasprov/agent';

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
    const py = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const bt = spawn(defaultBpftrace(), ['-e', buildProgram({ scope: { kind: 'watch', comms: ['nosuchwatchdog'], seedPids: [py.pid!] } })], {
      env: { ...process.env, ...bpftraceEnv() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    bt.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      const lines = () => out.split('\n');
      for (let i = 0; i < 600 && !lines().some((l) => l.startsWith('B\t')); i++) await new Promise((r) => setTimeout(r, 200));
      let said = '';
      py.stdout!.on('data', (b: Buffer) => (said += b.toString()));
      const exited = new Promise((r) => py.once('exit', r));
      py.stdin!.end('go\n');
      await exited;
      const [null1 = -1, null2 = -1, reused = -2, epoll = -3, file = -4] = said.trim().split(' ').map(Number);
      expect(reused).toBe(null2);
      // The exit's Q line is printed after every write's line.
      const exit = (l: string) => l.startsWith('Q\t') && l.split('\t')[2] === String(py.pid);
      for (let i = 0; i < 300 && !lines().some(exit); i++) await new Promise((r) => setTimeout(r, 100));
      const mine = lines().filter((l) => l.split('\t')[2]?.split('/')[0] === String(py.pid));
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
    } finally {
      bt.kill('SIGINT');
      py.kill('SIGKILL');
      await new Promise((r) => (bt.exitCode !== null ? r(undefined) : bt.once('exit', r)));
    }
  }, 180000);
});
