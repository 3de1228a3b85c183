import { describe, expect, it } from '@jest/globals';
import type { Batch, ConnectionNode, FileNode, ProcessNode } from '@faasprov/model';
import { fileId, parseBatch } from '@faasprov/model';
import { GraphBuffer } from './graph-buffer.js';
import { Observer, type InstanceFacts } from './observer.js';
import { parseLine } from '../sensor/parse.js';

/** Feeds bpftrace output lines (as program.ts prints them) through the observer. */
function observe(lines: string[]): Batch {
  const buf = new GraphBuffer();
  const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/work' }, buf);
  for (const l of lines) obs.handle(parseLine(l));
  return parseBatch(buf.cut('a1', 0));
}

const procs = (b: Batch) => b.nodes.filter((n): n is ProcessNode => n.type === 'Process');
const file = (b: Batch, path: string) => b.nodes.filter((n): n is FileNode => n.type === 'File' && n.path === path);

describe('Observer', () => {
  // sh forks; the child opens the target, dup2s it onto stdout, closes it, execs cat.
  const shCat = [
    'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
    'A\t1001\t10\t1\t30\tsh\\x00-c\\x00cat a > b\\x00',
    'F\t2000\t10\t11',
    'O\t3000\t11\t3\t577\t-100\tb',
    'D\t3100\t11\t3\t1\t0',
    'L\t3200\t11\t0\t3\t0\t0\t0\t0',
    'X\t4000\t11\t1\t1\t0\t0\t/usr/bin/cat',
    'A\t4001\t11\t1\t6\tcat\\x00a\\x00',
    'O\t5000\t11\t3\t0\t-100\ta',
    'R\t6000\t11\t1\t3\t10',
    'W\t7000\t11\t1\t1\t10',
    'L\t8000\t11\t1\t3\t2\t20\t0\t0',
    'Q\t9000\t11\t0',
  ];

  it('follows an fd inherited across dup2 and exec: cat writes b', () => {
    const b = observe(shCat);
    const cat = procs(b).find((p) => p.exe === '/usr/bin/cat')!;
    const [a] = file(b, '/work/a');
    const [out] = file(b, '/work/b');
    // The open collapses into the reads' USED edge (one more operation, no bytes).
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: cat.id, to: a!.id, count: 4, bytes: 30, attrs: { openFlags: 0 } }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: out!.id, to: cat.id, count: 1, bytes: 10 }));
    expect(out!.version).toBeGreaterThan(0);
    expect(a!.version).toBe(0);
  });

  it('makes one Process per image, linked fork and exec', () => {
    const b = observe(shCat);
    const ps = procs(b);
    expect(ps.map((p) => [p.pid, p.exe])).toEqual(
      expect.arrayContaining([[10, '/usr/bin/sh'], [11, '/usr/bin/sh'], [11, '/usr/bin/cat']]),
    );
    const [root, forked, cat] = [ps.find((p) => p.pid === 10)!, ps.find((p) => p.pid === 11 && p.exe.endsWith('sh'))!, ps.find((p) => p.exe.endsWith('cat'))!];
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_INFORMED_BY', from: forked.id, to: root.id }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_INFORMED_BY', from: cat.id, to: forked.id }));
    expect(cat.argv).toEqual(['cat', 'a']);
    expect(cat.exitCode).toBe(0);
    expect(forked.end).toBe(4);
  });

  it('drops close-on-exec fds at exec', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      'O\t2000\t10\t5\t524288\t-100\t/secret',
      'X\t3000\t10\t2\t1\t0\t0\t/usr/bin/cat',
      'W\t4000\t10\t2\t5\t10',
    ]);
    // Opened for reading (a USED edge), never written: the write after exec went to an fd cat does not have.
    expect(file(b, '/secret').map((f) => f.version)).toEqual([0]);
    expect(b.edges.filter((e) => e.type === 'WAS_GENERATED_BY')).toEqual([]);
  });

  // a > f; b >> f; c >> f (O_TRUNC then O_APPEND twice), then a pwrite into an fd opened without O_TRUNC.
  it('derives a version made by an append or a partial overwrite from the version it changed', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      'O\t2000\t10\t3\t577\t-100\t/tmp/f',
      'W\t2100\t10\t1\t3\t1',
      'L\t2200\t10\t1\t3\t0\t0\t0\t0',
      'O\t3000\t10\t3\t1089\t-100\t/tmp/f',
      'W\t3100\t10\t1\t3\t1',
      'L\t3200\t10\t1\t3\t0\t0\t0\t0',
      'O\t4000\t10\t3\t1089\t-100\t/tmp/f',
      'W\t4100\t10\t1\t3\t1',
      'L\t4200\t10\t1\t3\t0\t0\t0\t0',
      'O\t5000\t10\t3\t577\t-100\t/tmp/f',
      'W\t5100\t10\t1\t3\t1',
      'L\t5200\t10\t1\t3\t0\t0\t0\t0',
    ]);
    const vs = file(b, '/tmp/f').sort((x, y) => x.version - y.version);
    expect(vs).toHaveLength(4);
    const derived = b.edges.filter((e) => e.type === 'WAS_DERIVED_FROM').map((e) => [e.from, e.to]);
    // Each append extends the version before it; the last O_TRUNC write replaces the whole content.
    expect(derived).toEqual([[vs[1]!.id, vs[0]!.id], [vs[2]!.id, vs[1]!.id]]);
  });

  it('derives from the content found before capture only when the file must have existed', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      // O_WRONLY alone (no O_CREAT): the file existed; O_WRONLY|O_CREAT: it may be new.
      'O\t2000\t10\t3\t1\t-100\t/tmp/old',
      'W\t2100\t10\t1\t3\t1',
      'O\t3000\t10\t4\t65\t-100\t/tmp/new',
      'W\t3100\t10\t1\t4\t1',
    ]);
    const derived = b.edges.filter((e) => e.type === 'WAS_DERIVED_FROM');
    expect(derived).toHaveLength(1);
    expect(derived[0]!.to).toBe(fileId('n1', '/tmp/old', 0));
  });

  it('gives each write session a new file version and readers the latest', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      'O\t2000\t10\t3\t1\t-100\t/tmp/x',
      'W\t3000\t10\t1\t3\t1',
      'L\t3500\t10\t1\t3\t0\t0\t0\t0',
      'O\t4000\t10\t3\t0\t-100\t/tmp/x',
      'R\t5000\t10\t1\t3\t1',
      'L\t5500\t10\t1\t3\t0\t0\t0\t0',
      'O\t6000\t10\t3\t1\t-100\t/tmp/x',
      'W\t7000\t10\t1\t3\t1',
    ]);
    // O_WRONLY without O_TRUNC: each write open makes the version its writes fill, extending the one it met (0: found before capture).
    const versions = file(b, '/tmp/x').map((f) => f.version).sort();
    expect(versions).toEqual([0, 2, 6]);
    // The first USED edge is the exec of sh's file; the read of /tmp/x reads the first session's version.
    const read = b.edges.find((e) => e.type === 'USED' && !e.attrs?.exec)!;
    expect(b.nodes.find((n) => n.id === read.to)).toMatchObject({ path: '/tmp/x', version: 2 });
  });

  it('resolves relative paths against the cwd, chdir and dirfd', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      'H\t1500\t10\t/etc',
      'O\t2000\t10\t3\t0\t-100\t../etc/./hostname',
      'R\t2100\t10\t1\t3\t5',
      'O\t3000\t10\t4\t0\t-100\t/var',
      'O\t3100\t10\t5\t0\t4\tlog/x',
      'R\t3200\t10\t1\t5\t5',
    ]);
    expect(file(b, '/etc/hostname')).toHaveLength(1);
    expect(file(b, '/var/log/x')).toHaveLength(1);
  });

  it('links a connect to a server not watched here to its endpoint, reads as USED and writes as WAS_GENERATED_BY', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3',
      'K\t2000\t10\t3\t2\t8080\t127.0.0.1',
      'W\t2100\t10\t1\t3\t7',
      'R\t2200\t10\t1\t3\t9',
    ]);
    const lo = b.nodes.find((n) => n.type === 'Endpoint' && n.port === 8080)!;
    expect(lo).toMatchObject({ address: '127.0.0.1', node: 'n1' });
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: lo.id, bytes: 7 }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', to: lo.id, count: 2, bytes: 9 }));
    expect(b.nodes.some((n) => n.type === 'Connection')).toBe(false);
  });

  const conns = (b: Batch) => b.nodes.filter((n): n is ConnectionNode => n.type === 'Connection');

  it('makes an accepted connection two entities of its own (what the client sent, what the server answered), never the listening address', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3',
      'I\t1500\t10\t21\t2\t8080\t0.0.0.0',
      'Y\t3000\t10\t21\t4\t10\t5555\t::ffff:10.0.0.2',
      'R\t3100\t10\t1\t4\t152',
      'W\t3200\t10\t1\t4\t124',
    ]);
    const py = procs(b).find((p) => p.pid === 10)!;
    const c = conns(b);
    expect(c.map((n) => [n.flow, n.server, n.client, n.opened])).toEqual(expect.arrayContaining([['toServer', '0.0.0.0:8080', '10.0.0.2:5555', 3], ['toClient', '0.0.0.0:8080', '10.0.0.2:5555', 3]]));
    const [toServer, toClient] = [c.find((n) => n.flow === 'toServer')!, c.find((n) => n.flow === 'toClient')!];
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: py.id, to: toServer.id, bytes: 152 }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: toClient.id, to: py.id, bytes: 124 }));
    // Neither the listening address nor a node per peer carries the data.
    const served = b.nodes.find((n) => n.type === 'Endpoint' && n.port === 8080)!;
    expect(b.edges.filter((e) => e.from === served.id || e.to === served.id).map((e) => e.type)).toEqual(['WAS_GENERATED_BY']);
    expect(b.nodes.some((n) => n.type === 'Endpoint' && n.port === 5555)).toBe(false);
  });

  it('follows a socket accepted without a peer address (libuv\'s accept4(fd, NULL, ...)) to its connection', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/node',
      'I\t1500\t10\t21\t2\t3000\t127.0.0.1',
      'Y\t1600\t10\t21\t23\t0\t0\t-',
      'R\t1700\t10\t1\t23\t152',
      'W\t1800\t10\t1\t23\t124',
    ]);
    const node = procs(b).find((p) => p.pid === 10)!;
    const [toServer, toClient] = ['toServer', 'toClient'].map((f) => conns(b).find((n) => n.flow === f)!);
    expect(toServer).toMatchObject({ server: '127.0.0.1:3000', opened: 1 });
    expect(toServer!.client).toBeUndefined();
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: node.id, to: toServer!.id, bytes: 152 }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: toClient!.id, to: node.id, bytes: 124 }));
  });

  // of-watchdog (pid 20) proxies two requests from the gateway to the function (pid 30) on 127.0.0.1:3000.
  const proxied = [
    'X\t1000\t30\t1\t1\t0\t0\t/usr/bin/node',
    'O\t1010\t30\t9\t1\t-100\t/dev/null',
    'I\t1020\t30/30\t21\t2\t3000\t127.0.0.1',
    'X\t1100\t20\t1\t1\t0\t0\t/usr/bin/fwatchdog',
    'I\t1200\t20/20\t3\t10\t8080\t::',
    // Request 1: the gateway's connection (kept alive), read, forwarded on a new connection to the function.
    'Y\t2000\t20/21\t3\t5\t2\t40000\t10.0.0.1',
    'R\t2010\t20/21\t1\t5\t300',
    'K\t2020\t20/22\t6\t2\t3000\t127.0.0.1',
    'W\t2030\t20/22\t1\t6\t320',
    'Y\t2040\t30/30\t21\t23\t0\t0\t-',
    'R\t2050\t30/30\t1\t23\t320',
    'm\t2060\t30\t30\tfaasprov:B:call-1 fn',
    'W\t2070\t30/30\t1\t23\t50',
    'm\t2080\t30\t30\tfaasprov:E:call-1',
    'R\t2090\t20/22\t1\t6\t50',
    'W\t2100\t20/21\t1\t5\t60',
    // Request 2, on both connections kept alive.
    'R\t3010\t20/21\t1\t5\t300',
    'W\t3030\t20/23\t1\t6\t320',
    'R\t3050\t30/30\t1\t23\t320',
    'm\t3060\t30\t30\tfaasprov:B:call-2 fn',
    'W\t3070\t30/30\t1\t23\t50',
    'm\t3080\t30\t30\tfaasprov:E:call-2',
    'R\t3090\t20/22\t1\t6\t50',
    'W\t3100\t20/21\t1\t5\t60',
  ];

  it('matches a watched client\'s connect to the server\'s accept and links a relay\'s inbound and outbound requests, not the relay process', () => {
    const buf = new GraphBuffer();
    const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/work' }, buf);
    for (const l of proxied) obs.handle(parseLine(l));
    const b = parseBatch(buf.cut('a1', 0));
    const wd = procs(b).find((p) => p.pid === 20)!;
    const c = conns(b);
    // Two connections (gateway → watchdog, watchdog → function), two directions each: the function's accept took the watchdog's connect.
    expect(c).toHaveLength(4);
    const inbound = (f: string) => c.find((n) => n.server === '[::]:8080' && n.flow === f)!;
    const outbound = (f: string) => c.find((n) => n.server === '127.0.0.1:3000' && n.flow === f)!;
    expect(outbound('toServer')).toMatchObject({ pid: 20, fd: 6, opened: 2 });
    const units = ['call-1', 'call-2'].map((id) => b.nodes.find((n) => n.type === 'Unit' && n.callId === id)!);
    for (const u of units) {
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: u.id, to: outbound('toServer').id }));
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: outbound('toClient').id, to: u.id }));
    }
    // The relay: forwarded bytes derive from what they forward, both ways, never generated by the watchdog.
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_DERIVED_FROM', from: outbound('toServer').id, to: inbound('toServer').id, count: 2, bytes: 640 }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_DERIVED_FROM', from: inbound('toClient').id, to: outbound('toClient').id }));
    expect(b.edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.to === wd.id && c.some((n) => n.id === e.from))).toEqual([]);
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: wd.id, to: inbound('toServer').id }));
    expect(obs.stats).toMatchObject({ relayedRequests: 2, connectionsInferred: 0 });
    expect(b.edges.some((e) => e.attrs?.inferred)).toBe(false);
  });

  it('matches by order alone, and says so, when several connects wait for one server', () => {
    const buf = new GraphBuffer();
    const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/work' }, buf);
    for (const l of [...proxied.slice(0, 8), 'K\t2025\t20/23\t7\t2\t3000\t127.0.0.1', 'Y\t2040\t30/30\t21\t23\t0\t0\t-']) obs.handle(parseLine(l));
    obs.flushLosses();
    const b = parseBatch(buf.cut('a1', 0));
    const matched = conns(b).filter((n) => n.matchInferred);
    expect(matched.map((n) => [n.pid, n.fd, n.flow]).sort()).toEqual([[20, 6, 'toClient'], [20, 6, 'toServer']]);
    expect(obs.stats.connectionsInferred).toBe(1);
    expect(b.nodes).toContainEqual(expect.objectContaining({ type: 'Gap', cause: 'connection-inferred', count: 1 }));
  });

  it('records rename and unlink', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/mv',
      'N\t2000\t10\t-100\t/tmp/a',
      'M\t2000\t10\t-100\t/tmp/b',
      'U\t3000\t10\t-100\t/tmp/b',
    ]);
    // USED: the exec of mv's file, and /tmp/a renamed.
    expect(b.edges.map((e) => e.type).sort()).toEqual(['USED', 'USED', 'WAS_DERIVED_FROM', 'WAS_GENERATED_BY', 'WAS_INVALIDATED_BY']);
    expect(file(b, '/tmp/b')[0]).toMatchObject({ deleted: 3 });
  });

  it('links pipes, served endpoints, signals, ptrace and credential changes', () => {
    const b = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh',
      'P\t1100\t10\t0\t3\t4',
      'F\t1200\t10\t11',
      'W\t1300\t10\t1\t4\t5',
      'R\t1400\t11\t0\t3\t5',
      'I\t1500\t10\t5\t2\t8080\t0.0.0.0',
      'Y\t1600\t10\t5\t6\t2\t40000\t127.0.0.1',
      'R\t1700\t10\t1\t6\t7',
      'K\t1800\t11\t7\t1\t0\t/run/docker.sock',
      'G\t1900\t10\t11\t9',
      'T\t2000\t11\t16\t10',
      'S\t2100\t11\t0\t0\t0\t0',
      'V\t2200\t11\t-100\t511\t/tmp/x',
      'e\t2300\t10\t6\t0',
    ]);
    const pipe = b.nodes.find((n) => n.type === 'Pipe')!;
    const [sh, child] = [procs(b).find((p) => p.pid === 10)!, procs(b).find((p) => p.pid === 11)!];
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: pipe.id, to: sh.id, bytes: 5 }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: child.id, to: pipe.id, bytes: 5 }));
    const served = b.nodes.find((n) => n.type === 'Endpoint' && n.port === 8080)!;
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: served.id, to: sh.id }));
    // Data on the accepted socket is what its client sent.
    const request = b.nodes.find((n) => n.type === 'Connection' && n.flow === 'toServer' && n.client === '127.0.0.1:40000')!;
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: sh.id, to: request.id, bytes: 7 }));
    expect(b.nodes).toContainEqual(expect.objectContaining({ type: 'Endpoint', address: 'unix:/run/docker.sock', node: 'n1' }));
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_INFORMED_BY', from: child.id, to: sh.id, firstTime: 1 }));
    expect(b.edges.filter((e) => e.type === 'WAS_INFORMED_BY' && e.from === sh.id && e.to === child.id)).toHaveLength(1);
    expect(child).toMatchObject({ uid: 0, euid: 0, credChanged: 2 });
    expect(file(b, '/tmp/x')[0]).toMatchObject({ version: 2 });
  });

  it('starts an instance for each watched root and associates every process with it', () => {
    const buf = new GraphBuffer();
    const obs = new Observer(
      { node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: () => ({ function: 'fn-a', cgroupPath: '/fn-a' }) } },
      buf,
    );
    obs.seed({ pid: 5, ppid: 1, start: 1, exe: '/usr/bin/fwatchdog', argv: ['fwatchdog'], cwd: '/home/app', fds: new Map(), root: true, instance: { function: 'fn-old' } });
    obs.seed({ pid: 6, ppid: 5, start: 2, exe: '/usr/bin/node', argv: ['node', 'index.js'], cwd: '/home/app', fds: new Map([[1, '/tmp/log']]), root: false });
    obs.handle(parseLine('W\t3000\t6\t0\t1\t4'));
    obs.handle(parseLine('X\t4000\t50\t1\t77\t0\t0\t/usr/bin/fwatchdog'));
    obs.handle(parseLine('F\t5000\t50\t51'));
    const b = parseBatch(buf.cut('a1', 0));
    const inst = b.nodes.filter((n) => n.type === 'Instance');
    expect(inst).toEqual(expect.arrayContaining([
      expect.objectContaining({ rootPid: 5, function: 'fn-old' }),
      expect.objectContaining({ rootPid: 50, function: 'fn-a', cgroupId: '77', cgroupPath: '/fn-a' }),
    ]));
    const assoc = b.edges.filter((e) => e.type === 'WAS_ASSOCIATED_WITH');
    expect(assoc).toHaveLength(4);
    expect(file(b, '/tmp/log')).toHaveLength(1);
    const g = obs.gap('perf-buffer-overflow', 3, 1, 2);
    const b2 = parseBatch(buf.cut('a1', 1));
    expect(b2.edges.filter((e) => e.type === 'WAS_ATTRIBUTED_TO' && e.from === g.id)).toHaveLength(2);
  });

  it('keeps the writer\'s tenant on a file version read in the same batch (by another tenant too)', () => {
    const buf = new GraphBuffer(false);
    const tenants: Record<number, string> = { 10: 'team-a', 20: 'team-b' };
    const obs = new Observer(
      { node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: (pid) => ({ namespace: tenants[pid] }) } },
      buf,
    );
    for (const l of [
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/fwatchdog',
      'X\t1100\t20\t1\t1\t0\t0\t/usr/bin/fwatchdog',
      'O\t2000\t10\t3\t577\t-100\t/shared/a-secret.txt',
      'W\t2100\t10\t1\t3\t6',
      'L\t2200\t10\t1\t3\t0\t0\t0\t0',
      // team-b reads it, then team-a reads it back: two untagged readers after the tagged writer.
      'O\t3000\t20\t3\t0\t-100\t/shared/a-secret.txt',
      'R\t3100\t20\t1\t3\t6',
      'O\t3200\t10\t4\t0\t-100\t/shared/a-secret.txt',
      'R\t3300\t10\t1\t4\t6',
    ]) obs.handle(parseLine(l));
    const b = parseBatch(buf.cut('a1', 0));
    const versions = file(b, '/shared/a-secret.txt');
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 2, tenant: 'team-a' });
    // What the reader is told about the version is the writer's tenant, not the reader's.
    expect(b.edges.filter((e) => e.type === 'USED' && e.to === versions[0]!.id)).toHaveLength(2);
  });

  describe('an instance whose root had exited before /proc was read', () => {
    /** The x lines program.ts prints for a new root's exec: its environment in 190-byte chunks. */
    const envLines = (pid: number, env: string, limit = 3040) => {
      const bytes = Buffer.from(env, 'latin1');
      const out: string[] = [];
      for (let off = 0; off < Math.min(bytes.length, limit); off += 190) {
        const chunk = bytes.subarray(off, Math.min(off + 190, bytes.length, limit));
        out.push(`x\t${1002 + off}\t${pid}/${pid}\t1\t${bytes.length}\t${off}\t${[...chunk].map((b) => (b === 0 ? '\\x00' : String.fromCharCode(b))).join('')}`);
      }
      return out;
    };
    const run = (lines: string[], envBytes = 3040) => {
      const buf = new GraphBuffer(false);
      const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: () => ({ unread: 'exited' }), envBytes } }, buf);
      for (const l of lines) obs.handle(parseLine(l));
      const b = parseBatch(buf.cut('a1', 0));
      return { b, obs, inst: b.nodes.find((n) => n.type === 'Instance')!, files: b.nodes.filter((n): n is FileNode => n.type === 'File') };
    };
    const exec = ['X\t1000\t50\t1\t77\t0\t0\t/usr/bin/fwatchdog', 'A\t1001\t50\t1\t10\tfwatchdog\\x00'];
    const after = ['F\t5000\t50\t51', 'O\t5100\t51\t3\t577\t-100\t/tmp/out.txt', 'W\t5200\t51\t1\t3\t1', 'Q\t6000\t51\t0', 'Q\t6100\t50\t0'];

    it('is marked and counted, and is named from the environment the kernel copied at the exec', () => {
      const env = 'PATH=/bin\0FAASPROV_FUNCTION=fn-short\0FAASPROV_NAMESPACE=team-s\0OTHER=1\0';
      const { obs, inst, b, files } = run([...exec, ...envLines(50, env), ...after]);
      expect(inst).toMatchObject({ rootPid: 50, factsUnread: 'exited', envFrom: 'exec', function: 'fn-short', tenant: 'team-s' });
      expect(inst).not.toHaveProperty('envTruncated');
      // The root's image and what the tree made belong to the tenant.
      expect(procs(b).map((p) => [p.tenant, p.tenantUnknown])).toEqual([['team-s', undefined], ['team-s', undefined]]);
      expect(files.find((f) => f.path === '/tmp/out.txt')).toMatchObject({ tenant: 'team-s' });
      expect([obs.stats.instanceFactsUnread, obs.stats.instanceNamedFromExec]).toEqual([1, 1]);
    });

    it('says the environment was cut when the names lie past what the kernel read, and guesses nothing', () => {
      const env = `PAD=${'p'.repeat(3100)}\0FAASPROV_FUNCTION=fn-short\0FAASPROV_NAMESPACE=team-s\0`;
      const { obs, inst, b, files } = run([...exec, ...envLines(50, env), ...after]);
      expect(inst).toMatchObject({ factsUnread: 'exited', envFrom: 'exec', envTruncated: true });
      expect(inst).not.toHaveProperty('function');
      expect(inst).not.toHaveProperty('tenant');
      // Its tenant is unknown, not absent: what it made is no tenant's to see (model/tenancy.ts).
      expect(procs(b).map((p) => [p.tenant, p.tenantUnknown])).toEqual([[undefined, true], [undefined, true]]);
      expect(files.find((f) => f.path === '/tmp/out.txt')).toMatchObject({ tenantUnknown: true });
      expect([obs.stats.instanceFactsUnread, obs.stats.instanceNamedFromExec]).toEqual([1, 0]);
    });

    it('gives no tenant, and hides nothing, when the whole environment was read and names none', () => {
      const { inst, b, files } = run([...exec, ...envLines(50, 'PATH=/bin\0FAASPROV_FUNCTION=fn-short\0'), ...after]);
      expect(inst).toMatchObject({ factsUnread: 'exited', envFrom: 'exec', function: 'fn-short' });
      expect(inst).not.toHaveProperty('tenant');
      expect(procs(b).every((p) => p.tenant === undefined && p.tenantUnknown === undefined)).toBe(true);
      expect(files.find((f) => f.path === '/tmp/out.txt')).not.toHaveProperty('tenantUnknown');
    });

    it('reads nothing from an environment a chunk of which was lost', () => {
      const env = `A=${'a'.repeat(500)}\0FAASPROV_FUNCTION=fn-short\0`;
      const lines = envLines(50, env);
      const { inst } = run([...exec, lines[0]!, lines[2]!, ...after]);
      expect(inst).toMatchObject({ factsUnread: 'exited' });
      expect(inst).not.toHaveProperty('function');
      expect(inst).not.toHaveProperty('envFrom');
    });

    it('is marked without a name when the kernel copies no environment', () => {
      const { inst, obs, files } = run([...exec, ...after], 0);
      expect(inst).toMatchObject({ factsUnread: 'exited' });
      expect(inst).not.toHaveProperty('function');
      expect(files.find((f) => f.path === '/tmp/out.txt')).toMatchObject({ tenantUnknown: true });
      expect(obs.stats.instanceFactsUnread).toBe(1);
    });
  });

  it('merges what two events say about one node, never losing an attribute', () => {
    const buf = new GraphBuffer(false);
    const tagged: FileNode = { id: fileId('n1', '/x', 5), type: 'File', node: 'n1', path: '/x', version: 5, tenant: 'team-a' };
    const plain: FileNode = { id: tagged.id, type: 'File', node: 'n1', path: '/x', version: 5, deleted: 9 };
    buf.upsertNode(tagged);
    buf.upsertNode(plain);
    expect(buf.cut('a1', 0).nodes).toEqual([{ ...tagged, deleted: 9 }]);
  });

  it('counts what it cannot attribute instead of guessing', () => {
    const buf = new GraphBuffer();
    const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/' }, buf);
    obs.handle(parseLine('X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh'));
    obs.handle(parseLine('R\t2000\t10\t1\t9\t5'));
    obs.handle(parseLine('R\t2000\t99\t1\t3\t5'));
    expect(obs.stats.unattributed).toBe(1);
    expect(obs.stats.unknownProcess).toBe(1);
  });

  describe('invocation units per thread', () => {
    // python3 (pid 10) serves two requests on threads 11 and 12, interleaved; thread 11 starts a helper 13.
    const threaded = [
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3',
      'O\t1100\t10\t3\t1\t-100\t/dev/null',
      't\t1200\t10/10\t11',
      't\t1300\t10/10\t12',
      'm\t2000\t10\t11\tfaasprov:B:call-a fn',
      'm\t2100\t10\t12\tfaasprov:B:call-b fn',
      // Opens are edges charged to their thread's unit too (the kernel prints pid/tid).
      'O\t2200\t10/11\t4\t65\t-100\t/tmp/a.txt',
      'O\t2300\t10/12\t5\t65\t-100\t/tmp/b.txt',
      'W\t2400\t10/12\t1\t5\t2',
      'W\t2500\t10/11\t1\t4\t1',
      't\t2550\t10/11\t13',
      'U\t2600\t10/13\t-100\t/tmp/a-old',
      'K\t2700\t10/12\t6\t2\t80\t10.0.0.9',
      'm\t2800\t10\t11\tfaasprov:E:call-a',
      'W\t2900\t10/12\t1\t5\t3',
      'm\t3000\t10\t12\tfaasprov:E:call-b',
    ];

    function run(lines: string[]) {
      const buf = new GraphBuffer();
      const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/' }, buf);
      for (const l of lines) obs.handle(parseLine(l));
      // As capture does when it stops: held request reads go out by the usual rules.
      obs.settlePendingReads(true);
      obs.flushLosses();
      return { b: parseBatch(buf.cut('a1', 0)), obs };
    }
    const unitOf = (b: Batch, callId: string) => b.nodes.find((n) => n.type === 'Unit' && n.callId === callId)!;

    it("charges every operation to the unit of its own thread, however the threads interleave", () => {
      const { b, obs } = run(threaded);
      const [a, bb] = [unitOf(b, 'call-a'), unitOf(b, 'call-b')];
      expect(a).toMatchObject({ tid: 11, start: 2, end: 2 });
      const [fa, fb] = [file(b, '/tmp/a.txt')[0]!, file(b, '/tmp/b.txt')[0]!];
      const gen = (f: FileNode) => b.edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.from === f.id);
      expect(gen(fa)).toEqual([expect.objectContaining({ to: a.id })]);
      // The open and the two writes: one edge.
      expect(gen(fb)).toEqual([expect.objectContaining({ to: bb.id, count: 3, bytes: 5 })]);
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: bb.id, attrs: { initiated: true } }));
      // The helper thread started by call-a's thread works for call-a.
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_INVALIDATED_BY', to: a.id }));
      expect(b.edges.some((e) => e.attrs?.inferred)).toBe(false);
      expect(obs.stats.inferredCharges).toBe(0);
      expect(b.nodes.some((n) => n.type === 'Gap')).toBe(false);
    });

    // Two server threads each accept a connection and read a request before their begin marker.
    const served = [
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3',
      'O\t1010\t10\t4\t1\t-100\t/dev/null',
      'I\t1050\t10/10\t3\t2\t8080\t127.0.0.1',
      't\t1200\t10/10\t11',
      't\t1300\t10/10\t12',
      'Y\t1400\t10/11\t3\t7\t2\t5000\t10.0.0.8',
      'R\t1500\t10/11\t1\t7\t100',
      'm\t1600\t10\t11\tfaasprov:B:call-a fn',
      'Y\t1650\t10/12\t3\t8\t2\t5001\t10.0.0.9',
      // call-a is open: by rule 5 this read would go to call-a (inferred); it is call-b's request.
      'R\t1700\t10/12\t1\t8\t50',
      'm\t1800\t10\t12\tfaasprov:B:call-b fn',
      'L\t1900\t10/12\t1\t8\t2\t30\t0\t0',
      'm\t2000\t10\t11\tfaasprov:E:call-a',
      'm\t2100\t10\t12\tfaasprov:E:call-b',
    ];

    it('gives request bytes read before the begin marker to the unit the same thread then begins', () => {
      const { b, obs } = run(served);
      const [a, bb] = [unitOf(b, 'call-a'), unitOf(b, 'call-b')];
      const reads = b.edges.filter((e) => e.type === 'USED' && b.nodes.find((n) => n.id === e.to)?.type === 'Connection');
      expect(reads.map((e) => [e.from, e.bytes, e.count]).sort()).toEqual([[a.id, 100, 1], [bb.id, 80, 3]].sort());
      expect(b.edges.filter((e) => e.attrs?.inferred)).toEqual([]);
      // Each request is its own connection's (its client named), not the listening address's.
      const request = (port: number) => b.nodes.find((n) => n.type === 'Connection' && n.flow === 'toServer' && n.client === `10.0.0.${port - 4992}:${port}`)!.id;
      expect(reads.map((e) => [e.from, e.to]).sort()).toEqual([[a.id, request(5000)], [bb.id, request(5001)]].sort());
      expect(obs.stats).toMatchObject({ requestReadsClaimed: 2, inferredCharges: 0 });
    });

    it('charges a held read by the usual rules when no begin marker claims it, never dropping it', () => {
      // Thread 13 reads a request and closes the socket without beginning an invocation (a health check).
      const { b, obs } = run([...served.slice(0, 6), 't\t1350\t10/10\t13', 'Y\t2200\t10/13\t3\t9\t2\t5002\t10.0.0.7', 'R\t2300\t10/13\t1\t9\t20', 'C\t2400\t10/13\t1\t9\t0\t0\t0\t0']);
      const py = procs(b).find((p) => p.pid === 10)!;
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'USED', from: py.id, bytes: 20 }));
      expect(obs.stats.requestReadsClaimed).toBe(0);
      // One still held when capture stops goes out too.
      const buf = new GraphBuffer();
      const o2 = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/' }, buf);
      for (const l of [...served.slice(0, 6), 'R\t1500\t10/11\t1\t7\t100']) o2.handle(parseLine(l));
      o2.settlePendingReads(true);
      expect(parseBatch(buf.cut('a1', 0)).edges).toContainEqual(expect.objectContaining({ type: 'USED', from: py.id, bytes: 100 }));
    });

    it('gives a call id seen again in one process a second unit (an attempt), not a merge', () => {
      const { b } = run([...threaded, 'm\t4000\t10\t11\tfaasprov:B:call-a fn', 'W\t4100\t10/11\t1\t4\t1', 'm\t4200\t10\t11\tfaasprov:E:call-a']);
      const units = b.nodes.filter((n) => n.type === 'Unit' && n.callId === 'call-a');
      expect(units).toHaveLength(2);
      expect(new Set(units.map((u) => u.id)).size).toBe(2);
      expect(b.nodes.filter((n) => n.type === 'Invocation' && n.callId === 'call-a')).toHaveLength(1);
    });

    it('marks, counts and records as a Gap what it charges by inference', () => {
      const { b, obs } = run([
        ...threaded.slice(0, 8),
        // The accepting thread (10) serves no unit while two are open: its read goes to the image, inferred.
        'Y\t2450\t10/10\t3\t7\t2\t5000\t10.0.0.8',
        'W\t2455\t10/10\t1\t7\t3',
        // Thread 12 begins call-c while still serving call-b: charged to call-c, inferred.
        'm\t2460\t10\t12\tfaasprov:B:call-c fn',
        'W\t2470\t10/12\t1\t5\t2',
      ]);
      const py = procs(b).find((p) => p.pid === 10)!;
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', to: py.id, attrs: { inferred: true } }));
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', to: unitOf(b, 'call-c').id, attrs: { inferred: true } }));
      expect(obs.stats).toMatchObject({ inferredCharges: 2, threadOverlaps: 1 });
      expect(b.nodes).toContainEqual(expect.objectContaining({ type: 'Gap', cause: 'attribution-inferred', count: 2 }));
    });

    it('charges a pool thread by inference to the only open unit (one request in flight)', () => {
      const { b } = run([
        'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/node',
        'O\t1100\t10\t3\t1\t-100\t/dev/null',
        'm\t2000\t10\t10\tfaasprov:B:call-a fn',
        'O\t2200\t10\t4\t65\t-100\t/tmp/a.txt',
        'W\t2500\t10/17\t1\t4\t1',
      ]);
      // The open (main thread, serving call-a) and the pool thread's write collapse into one edge.
      expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', to: unitOf(b, 'call-a').id, attrs: { inferred: true, openFlags: 65 } }));
    });
  });

  it('links an invocation to a caller without a template by the connection to its instance, inferred', () => {
    const buf = new GraphBuffer();
    const facts: Record<number, InstanceFacts> = { 50: { function: 'callee', addresses: ['10.0.0.5'] }, 60: { function: 'plain', addresses: ['10.0.0.6'] } };
    const obs = new Observer({ node: 'n1', agent: 'n1:a', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: (pid) => facts[pid] ?? {} } }, buf);
    for (const l of [
      'X\t1000\t50\t1\t1\t0\t0\t/usr/bin/fwatchdog',
      'O\t1100\t50\t3\t1\t-100\t/dev/null',
      'X\t1200\t60\t1\t1\t0\t0\t/usr/bin/fwatchdog',
      // The plain function (no unit) calls the callee's address; the callee begins 1 ms later.
      'K\t2000000\t60/60\t5\t2\t8080\t10.0.0.5',
      'm\t3000000\t50\t50\tfaasprov:B:called fn',
      'm\t4000000\t50\t50\tfaasprov:E:called',
      // No connect before this one: no caller.
      'm\t9000000\t50\t50\tfaasprov:B:alone fn',
    ]) obs.handle(parseLine(l));
    const b = parseBatch(buf.cut('n1:a', 0));
    const plain = procs(b).find((p) => p.pid === 60)!;
    const inv = (c: string) => b.nodes.find((n) => n.type === 'Invocation' && n.callId === c)!;
    expect(b.nodes.find((n) => n.type === 'Instance' && n.rootPid === 50)).toMatchObject({ addresses: ['10.0.0.5'] });
    expect(b.edges.filter((e) => e.type === 'WAS_INFORMED_BY' && e.from === inv('called').id)).toEqual([expect.objectContaining({ to: plain.id, attrs: { inferred: true } })]);
    expect(b.edges.filter((e) => e.type === 'WAS_INFORMED_BY' && e.from === inv('alone').id)).toEqual([]);
    expect(obs.stats.inferredCallers).toBe(1);
  });
});
