import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import type { FileNode, EndpointNode } from '@faasprov/model';
import { edgesOf, faasprov, processes, pythonExe, readGraph, tempDir } from './helpers.js';

// Real bpftrace against real processes, through the real CLI: nothing here is mocked.
describe('faasprov run (real bpftrace)', () => {
  const dir = tempDir();
  const store = join(dir, 'store.db');

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records sh and cat, their fork/exec, the file cat read and the file it wrote; nothing else', async () => {
    const out = join(dir, 'g.json');
    const target = join(dir, 'fp-x.txt');
    let stderr = '';
    // A busy process outside the tree: none of its work may reach the graph.
    const noise = execa('sh', ['-c', 'while :; do cat /etc/hostname > /dev/null; sleep 0.01; done'], { reject: false });
    try {
      const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', `cat /etc/hostname > ${target}`]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('');
      stderr = String(r.stderr);
    } finally {
      noise.kill();
    }
    expect(readFileSync(target, 'utf8')).toBe(readFileSync('/etc/hostname', 'utf8'));
    const g = readGraph(out);
    const procs = processes(g);
    const sh = procs.filter((p) => p.exe === '/usr/bin/sh' || p.argv[0] === 'sh');
    const cat = procs.filter((p) => p.exe.endsWith('/cat'));
    expect(sh.length).toBeGreaterThanOrEqual(1);
    expect(cat).toHaveLength(1);
    const catNode = cat[0]!;
    expect(catNode.argv).toEqual(['cat', '/etc/hostname']);
    // cat WAS_INFORMED_BY an sh image (exec of a forked sh, or exec in place).
    const informers = edgesOf(g, 'WAS_INFORMED_BY', catNode).map((e) => e.to);
    expect(informers.some((id) => sh.some((s) => s.id === id))).toBe(true);
    const files = g.nodes.filter((n): n is FileNode => n.type === 'File');
    const hostname = files.find((f) => f.path === '/etc/hostname');
    const written = files.find((f) => f.path === target);
    expect(hostname).toBeDefined();
    expect(written).toBeDefined();
    const used = edgesOf(g, 'USED', catNode, hostname);
    expect(used).toHaveLength(1);
    expect(used[0]!.bytes).toBe(readFileSync('/etc/hostname').length);
    const gen = edgesOf(g, 'WAS_GENERATED_BY', written, catNode);
    expect(gen).toHaveLength(1);
    expect(gen[0]!.bytes).toBe(readFileSync('/etc/hostname').length);
    // Every process is sh's own tree: the root plus what descends from it by fork/exec.
    const root = procs.filter((p) => edgesOf(g, 'WAS_INFORMED_BY', p).length === 0);
    expect(root).toHaveLength(1);
    expect(root[0]!.exe).toBe('/usr/bin/sh');
    expect(procs.every((p) => !/faasprov|bpftrace|node$|sleep/.test(p.exe))).toBe(true);
    // The exact command that traces what led to the written file, with its node id.
    expect(stderr.split('\n')).toContain(`  faasprov trace ${written!.id} --backward --store ${store}   # ${target}`);
  });

  it('links a python process to the loopback endpoint it connects to', async () => {
    let server: Server | undefined;
    const port = await new Promise<number>((resolve) => {
      server = createServer((sock) => sock.end('hello')).listen(0, '127.0.0.1', () => {
        resolve((server!.address() as { port: number }).port);
      });
    });
    try {
      const out = join(dir, 'py.json');
      const py = await pythonExe();
      const code = `import socket; s=socket.create_connection(("127.0.0.1", ${port})); print(s.recv(5))`;
      const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', py, '-c', code]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('hello');
      const g = readGraph(out);
      const ep = g.nodes.find((n): n is EndpointNode => n.type === 'Endpoint' && n.address === '127.0.0.1' && n.port === port);
      expect(ep).toBeDefined();
      const pyProc = processes(g).find((p) => p.exe === py);
      expect(pyProc).toBeDefined();
      expect(edgesOf(g, 'USED', pyProc, ep).length).toBe(1);
      expect(edgesOf(g, 'USED', pyProc, ep)[0]!.bytes).toBe(5);
    } finally {
      server?.close();
    }
  });

  it("returns CMD's exit code, and 128+N when a signal kills it", async () => {
    const r = await faasprov(['run', '--store', store, '-q', '--out', join(dir, 'x.txt'), '--', 'sh', '-c', 'exit 7']);
    expect(r.exitCode).toBe(7);
    const k = await faasprov(['run', '--store', store, '-q', '--out', join(dir, 'x.txt'), '--', 'sh', '-c', 'kill -TERM $$']);
    expect(k.exitCode).toBe(143);
    // Two captures, each paying bpftrace's attach (tens of seconds on a loaded machine).
  }, 120000);

  it('gives a clear error for a command that does not exist, and starts nothing', async () => {
    const s2 = join(dir, 'never.db');
    const r = await faasprov(['run', '--store', s2, '--', 'no-such-command-fp']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('command not found: no-such-command-fp');
    expect(existsSync(s2)).toBe(false);
  });

  it("keeps CMD's stdin and stdout its own, and writes the tree to stderr", async () => {
    const r = await faasprov(['run', '--store', store, '--', 'cat'], { input: 'from stdin\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('from stdin');
    expect(r.stderr).toContain('provenance of cat');
    expect(r.stderr).toMatch(/Process \d+ cat/);
  });

  it('stores hostile file names exactly and prints them escaped', async () => {
    const evil = join(dir, 'a\tb\nc "d" \\e \u001b[31m');
    const out = join(dir, 'evil.json');
    const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', 'echo x > "$1"', 'sh', evil]);
    expect(r.exitCode).toBe(0);
    const g = readGraph(out);
    expect(g.nodes.some((n) => n.type === 'File' && n.path === evil)).toBe(true);
    const t = await faasprov(['run', '--store', store, '--', 'sh', '-c', 'echo x > "$1"', 'sh', evil]);
    expect(t.stderr).toContain('a\\x09b\\x0ac "d" \\e \\x1b[31m');
    expect(t.stderr).not.toContain('\u001b');
    // Two captures, each paying bpftrace's attach (tens of seconds on a loaded machine).
  }, 120000);

  it('writes DOT on request', async () => {
    const out = join(dir, 'g.dot');
    const r = await faasprov(['run', '--store', store, '--format', 'dot', '--out', out, '--', 'sh', '-c', 'cat /etc/hostname > /dev/null']);
    expect(r.exitCode).toBe(0);
    const dot = readFileSync(out, 'utf8');
    expect(dot.startsWith('digraph provenance {')).toBe(true);
    expect(dot).toMatch(/-> "p_[0-9a-f]{32}" \[label="USED|WAS_INFORMED_BY/);
    expect(dot).toContain('File /etc/hostname');
  });

  it('traces backward from the written file to cat, sh and /etc/hostname, and forward from /etc/hostname', async () => {
    const out = join(dir, 't.json');
    const target = join(dir, 'traced.txt');
    writeFileSync(join(dir, 'unrelated.txt'), 'u');
    const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', `cat ${join(dir, 'unrelated.txt')} > /dev/null; cat /etc/hostname > ${target}`]);
    expect(r.exitCode).toBe(0);
    const g = readGraph(out);
    const file = g.nodes.find((n): n is FileNode => n.type === 'File' && n.path === target)!;
    const back = await faasprov(['trace', file.id, '--backward', '--store', store, '--format', 'json']);
    expect(back.exitCode).toBe(0);
    const bg = JSON.parse(String(back.stdout)) as { nodes: { type: string; path?: string; exe?: string }[] };
    expect(bg.nodes.some((n) => n.type === 'Process' && n.exe?.endsWith('/cat'))).toBe(true);
    expect(bg.nodes.some((n) => n.path === '/etc/hostname')).toBe(true);
    // The first cat read unrelated.txt in another process: not a cause of the written file.
    expect(bg.nodes.some((n) => n.path === join(dir, 'unrelated.txt'))).toBe(false);
    const hostname = g.nodes.find((n): n is FileNode => n.type === 'File' && n.path === '/etc/hostname')!;
    const fwd = await faasprov(['trace', hostname.id, '--forward', '--store', store]);
    expect(fwd.exitCode).toBe(0);
    expect(fwd.stdout).toContain(target);
    const unknown = await faasprov(['trace', 'f_00000000000000000000000000000000', '--backward', '--store', store]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('FP_ERR_UNKNOWN_NODE');
  });

  it('trace writes a graph larger than a pipe holds whole to stdout (`| jq`)', async () => {
    const many = join(dir, 'many');
    const out = join(dir, 'many.json');
    const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', `mkdir ${many} && for i in $(seq 1 400); do echo $i > ${many}/file-$i.txt; done`]);
    expect(r.exitCode).toBe(0);
    const g = readGraph(out) as unknown as { nodes: { type: string; path?: string; id: string; exe?: string }[] };
    expect(g.nodes.filter((n) => n.type === 'File' && n.path?.startsWith(`${many}/file-`)).length).toBe(400);
    const sh = g.nodes.find((n) => n.type === 'Process' && n.exe?.endsWith('sh'))!;
    const fwd = await faasprov(['trace', sh.id, '--forward', '--store', store, '--format', 'json']);
    expect(fwd.exitCode).toBe(0);
    expect(String(fwd.stdout).length).toBeGreaterThan(65536);
    expect((JSON.parse(String(fwd.stdout)) as { nodes: unknown[] }).nodes.length).toBeGreaterThan(400);
  });

  it('`run -- true` stops cleanly: exit 0, no warning, no Gap', async () => {
    const out = join(dir, 'true.json');
    const r = await faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'true']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(/warning|\(node:|stdin:\d/i);
    expect(r.stderr).toMatch(/nothing lost/);
    const g = readGraph(out);
    expect(g.nodes.filter((n) => n.type === 'Gap')).toEqual([]);
    expect(processes(g).map((p) => p.exe)).toEqual(['/usr/bin/true']);
  });

  it('says in one line when bpftrace dies during the capture, and the graph holds a sensor-exit Gap', async () => {
    const out = join(dir, 'killed.json');
    const run = faasprov(['run', '--store', store, '--format', 'json', '--out', out, '--', 'sh', '-c', 'sleep 4.0517; cat /etc/hostname > /dev/null']);
    // CMD starts once every probe is attached: its sleep is the sensor's child's window.
    const sensor = async (): Promise<number | undefined> => {
      for (const t of readdirSync(`/proc/${run.pid}/task`)) {
        for (const c of readFileSync(`/proc/${run.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
          if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'bpftrace') return Number(c);
        }
      }
      return undefined;
    };
    const sleeping = () => readdirSync('/proc').some((p) => /^\d+$/.test(p) && (() => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00004.0517\u0000'; } catch { return false; } })());
    let pid: number | undefined;
    for (let i = 0; i < 1200 && !(sleeping() && (pid = await sensor())); i++) await new Promise((res) => setTimeout(res, 50));
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    const r = await run;
    expect(r.exitCode).toBe(0);
    const said = String(r.stderr).split('\n').filter((l) => /bpftrace/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^faasprov: bpftrace stopped before the capture ended \(killed by SIGKILL\); .*sensor-exit Gap/);
    expect(r.stderr).not.toMatch(/\(node:|WARNING|stdin:\d/);
    const gaps = readGraph(out).nodes.filter((n) => n.type === 'Gap') as unknown as { cause: string }[];
    expect(gaps.map((gap) => gap.cause)).toEqual(['sensor-exit']);
  }, 120000);
});
