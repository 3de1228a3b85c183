import { spawn } from 'node:child_process';
import { bpftraceEnv, buildProgram, defaultBpftrace } from '@faasprov/agent';

/**
 * Runs a Python script under the agent's kernel program, alone (the script's process seeded as a
 * watched root; no agent), and returns what the script printed and the kernel lines of its
 * process, every one printed by its exit. The script waits for a line on stdin before it acts, so
 * that every probe is attached first.
 */
export async function kernelLinesOf(script: string, args: string[] = []): Promise<{ said: string; lines: string[] }> {
  const py = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    // The exit's Q line is printed after every other line of the process.
    const exit = (l: string) => l.startsWith('Q\t') && l.split('\t')[2] === String(py.pid);
    for (let i = 0; i < 300 && !lines().some(exit); i++) await new Promise((r) => setTimeout(r, 100));
    return { said, lines: lines().filter((l) => l.split('\t')[2]?.split('/')[0] === String(py.pid)) };
  } finally {
    bt.kill('SIGINT');
    py.kill('SIGKILL');
    await new Promise((r) => (bt.exitCode !== null ? r(undefined) : bt.once('exit', r)));
  }
}
