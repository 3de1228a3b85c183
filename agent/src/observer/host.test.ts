import { describe, expect, it } from '@jest/globals';
import { parseBatch, type Batch, type EndpointNode, type FileNode, type GraphEdge, type ProcessNode } from '@faasprov/model';
import { GraphBuffer } from './graph-buffer.js';
import { Observer } from './observer.js';
import { parseLine } from '../sensor/parse.js';
import { hostSettings } from '../host-settings.js';

/** Feeds bpftrace lines (program.ts and host-probes.ts formats) through an observer with the default rules' needs. */
function observe(lines: string[]): { b: Batch; obs: Observer } {
  const buf = new GraphBuffer();
  const host = hostSettings({ attemptPaths: ['/etc/shadow', '/root/.ssh/**'], execEnv: ['LD_PRELOAD', 'API_TOKEN'] }).observer;
  const obs = new Observer({ node: 'n1', agent: 'a1', clockOffsetNs: 0n, rootCwd: '/work', host }, buf);
  for (const l of lines) obs.handle(parseLine(l));
  return { b: parseBatch(buf.cut('a1', 0)), obs };
}
const files = (b: Batch, path: string) => b.nodes.filter((n): n is FileNode => n.type === 'File' && n.path === path);
const proc = (b: Batch, exe: string) => b.nodes.find((n): n is ProcessNode => n.type === 'Process' && n.exe === exe)!;
const edge = (b: Batch, type: GraphEdge['type'], from: { id: string }, to: { id: string }) => b.edges.find((e) => e.type === type && e.from === from.id && e.to === to.id);
const SH = 'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/sh';

describe('hostSettings', () => {
  it('gives the kernel literal prefixes it can hold (cut back to a directory before a space or a quote)', () => {
    const { program, observer } = hostSettings({ attemptPaths: ['/home/my dir/**', '/etc/"x"', '**/.aws/credentials', '/etc/shadow'], execEnv: [] });
    expect(program.attemptPrefixes).toEqual(['/etc/', '/home/']);
    expect(program.envBytes).toBe(0);
    expect(observer.attemptPaths).toHaveLength(4);
  });
});

describe('Observer host operations', () => {
  it('makes opens edges: USED with the flags for reading, a new version for writing, nothing for /dev/null', () => {
    const { b } = observe([SH, 'O\t2000\t10\t3\t0\t-100\t/etc/passwd', 'O\t3000\t10\t4\t65\t-100\t/tmp/new', 'O\t4000\t10\t5\t1\t-100\t/dev/null']);
    const sh = proc(b, '/usr/bin/sh');
    expect(edge(b, 'USED', sh, files(b, '/etc/passwd')[0]!)).toMatchObject({ count: 1, bytes: 0, attrs: { openFlags: 0 } });
    const [created] = files(b, '/tmp/new');
    expect(created!.version).toBe(3);
    expect(edge(b, 'WAS_GENERATED_BY', created!, sh)).toMatchObject({ attrs: { openFlags: 65 } });
    expect(files(b, '/dev/null')).toEqual([]);
  });

  it('keeps a failed open of a sensitive path as an attempt (rc), and drops other failed opens the kernel let through', () => {
    const { b, obs } = observe([SH, 'O\t2000\t10\t-13\t0\t-100\t/etc/shadow', 'O\t2100\t10\t-2\t0\t-100\t/etc/shadowy', 'O\t2200\t10\t-2\t0\t-100\t/root/.ssh/id_rsa']);
    const sh = proc(b, '/usr/bin/sh');
    expect(edge(b, 'USED', sh, files(b, '/etc/shadow')[0]!)).toMatchObject({ attrs: { openFlags: 0, rc: -13 } });
    expect(edge(b, 'USED', sh, files(b, '/root/.ssh/id_rsa')[0]!)).toMatchObject({ attrs: { rc: -2 } });
    expect(files(b, '/etc/shadowy')).toEqual([]);
    expect(obs.stats.attemptsIgnored).toBe(1);
  });

  it('makes directories entities (mkdir creates, rmdir and unlinkat(AT_REMOVEDIR) invalidate)', () => {
    const { b } = observe([SH, 'f\t2000\t10\t-100\t493\t/etc/.hidden', 'u\t3000\t10\t-100\t/etc/.hidden', 'u\t4000\t10\t-100\trelative-dir']);
    const sh = proc(b, '/usr/bin/sh');
    const [dir] = files(b, '/etc/.hidden');
    expect(dir).toMatchObject({ fileType: 'directory', version: 2, deleted: 3 });
    expect(edge(b, 'WAS_GENERATED_BY', dir!, sh)).toBeDefined();
    expect(edge(b, 'WAS_INVALIDATED_BY', dir!, sh)).toBeDefined();
    expect(files(b, '/work/relative-dir')[0]).toMatchObject({ fileType: 'directory', version: 0, deleted: 4 });
  });

  it('makes links new names: a hard link uses its source, a symlink holds its target resolved against its directory', () => {
    const { b } = observe([
      SH,
      'h\t2000\t10\t0\t-100\t/etc/passwd', 'j\t2000\t10\t0\t-100\t/tmp/pw',
      'h\t3000\t10\t1\t-100\t../etc/shadow', 'j\t3000\t10\t1\t-100\t/tmp/sh-link',
    ]);
    const sh = proc(b, '/usr/bin/sh');
    const [hard] = files(b, '/tmp/pw');
    expect(hard).toMatchObject({ fileType: 'hardlink', linkTarget: '/etc/passwd', version: 2 });
    expect(edge(b, 'USED', sh, files(b, '/etc/passwd')[0]!)).toBeDefined();
    expect(edge(b, 'WAS_GENERATED_BY', hard!, sh)).toBeDefined();
    const [soft] = files(b, '/tmp/sh-link');
    expect(soft).toMatchObject({ fileType: 'symlink', linkTarget: '/etc/shadow' });
    expect(files(b, '/etc/shadow')).toEqual([]); // a symlink reads nothing
  });

  it('links an exec of /proc/self/fd/N to the memfd content its writes made, after what the writer received', () => {
    const { b } = observe([
      'X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3',
      'K\t1500\t10\t3\t2\t80\t203.0.113.9',
      'R\t1600\t10\t1\t3\t4096',
      'w\t2000\t10\t4\t1\tpayload',
      'W\t3000\t10\t1\t4\t80000000',
      'X\t4000\t10\t2\t1\t0\t0\t/proc/self/fd/4',
    ]);
    const [py, img] = [proc(b, '/usr/bin/python3'), proc(b, '/proc/self/fd/4')];
    const [mem] = files(b, 'memfd:payload');
    expect(mem).toMatchObject({ fileType: 'memfd', version: 2 });
    expect(edge(b, 'WAS_GENERATED_BY', mem!, py)).toMatchObject({ count: 2, bytes: 80000000 });
    expect(edge(b, 'USED', img, mem!)).toMatchObject({ attrs: { exec: true }, firstTime: 4 });
    const ep = b.nodes.find((n): n is EndpointNode => n.type === 'Endpoint')!;
    expect(edge(b, 'USED', py, ep)).toMatchObject({ bytes: 4096 });
  });

  it('records namespace changes, raw and packet sockets, userfaultfd, and writes on a raw socket', () => {
    const { b } = observe([
      SH,
      's\t2000\t10\t0\t1073741824\t-1',
      'r\t3000\t10\t5\t17\t3\t768',
      'r\t3100\t10\t6\t2\t3\t1',
      'W\t3200\t10\t1\t6\t64',
      'q\t4000\t10\t7\t524288',
    ]);
    const sh = proc(b, '/usr/bin/sh');
    expect(sh).toMatchObject({ nsChanged: 2, nsFlags: 0x40000000 });
    const packet = b.nodes.find((n): n is EndpointNode => n.type === 'Endpoint' && n.socketKind === 'packet')!;
    expect(packet).toMatchObject({ address: 'packet', port: 3, node: 'n1' }); // ETH_P_ALL
    expect(edge(b, 'USED', sh, packet)).toBeDefined();
    const raw = b.nodes.find((n): n is EndpointNode => n.type === 'Endpoint' && n.socketKind === 'raw')!;
    expect(raw).toMatchObject({ address: 'raw:inet', port: 1 });
    expect(edge(b, 'WAS_GENERATED_BY', raw, sh)).toMatchObject({ bytes: 64 });
    expect(edge(b, 'USED', sh, files(b, 'anon_inode:[userfaultfd]')[0]!)).toMatchObject({ attrs: { openFlags: 524288 } });
  });

  it('links PTRACE_TRACEME to the parent, pidfd signals and kills to their target, with the request and signal', () => {
    const { b } = observe([
      SH,
      'F\t1500\t10\t11',
      'T\t2000\t11\t0\t0',
      'p\t3000\t10\t5\t11',
      'g\t3100\t10\t5\t15',
      'G\t3200\t10\t11\t9',
    ]);
    const [sh, child] = [b.nodes.find((n): n is ProcessNode => n.type === 'Process' && n.pid === 10)!, b.nodes.find((n): n is ProcessNode => n.type === 'Process' && n.pid === 11)!];
    expect(child.traceme).toBe(2);
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_INFORMED_BY', from: child.id, to: sh.id, attrs: { ptrace: 0, signal: 9 } }));
    expect(edge(b, 'WAS_INFORMED_BY', child, sh)!.count).toBe(4); // fork, traceme, pidfd signal, kill
  });

  it('keeps only the named variables of an exec environment, across chunks, secrets redacted', () => {
    const env = Buffer.from('PATH=/bin\0LD_PRELOAD=/tmp/evil.so\0HOME=/root\0API_TOKEN=hunter2\0');
    const esc = (buf: Buffer) => [...buf].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
    const { b } = observe([
      SH,
      `x\t1001\t10\t1\t${env.length}\t0\t${esc(env.subarray(0, 25))}`,
      `x\t1002\t10\t1\t${env.length}\t25\t${esc(env.subarray(25))}`,
    ]);
    const sh = proc(b, '/usr/bin/sh');
    expect(sh.env).toEqual(['LD_PRELOAD=/tmp/evil.so', 'API_TOKEN=<redacted>']);
    expect(sh.envTruncated).toBeUndefined();
  });
});
