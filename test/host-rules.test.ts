import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  edgeId, endpointId, fileId, processId,
  ALL_TENANTS, type AlertNode, type Batch, type EdgeAttrs, type EdgeType, type EndpointNode, type FileNode, type GraphEdge, type GraphNode, type ProcessNode,
} from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, captureNeeds, loadRules } from '@faasprov/collector';
import { trace } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const N = 'node-h';
const T0 = 1_790_000_000_000_000;
const proc = (pid: number, start: number, exe: string, extra: Partial<ProcessNode> = {}): ProcessNode => ({
  id: processId(N, pid, start), type: 'Process', node: N, pid, start, exe, argv: [exe], ...extra,
});
const file = (path: string, version: number, extra: Partial<FileNode> = {}): FileNode => ({ id: fileId(N, path, version), type: 'File', node: N, path, version, ...extra });
const ep = (address: string, port: number, extra: Partial<EndpointNode> = {}): EndpointNode => ({ id: endpointId(address, port, N), type: 'Endpoint', address, port, node: N, ...extra });

function batch(seq: number, edges: [EdgeType, GraphNode, GraphNode, number, EdgeAttrs?][], extra: GraphNode[] = []): Batch {
  const nodes = new Map<string, GraphNode>(extra.map((n) => [n.id, n]));
  const es: GraphEdge[] = edges.map(([type, from, to, t, attrs]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 0, ...(attrs ? { attrs } : {}) };
  });
  return { agent: `${N}:1`, seq, nodes: [...nodes.values()], edges: es };
}

// The host detections of the shipped rules, each on its action's shape and on a benign look-alike.
describe('host rules (collector/rules/default.json)', () => {
  const dir = tempDir('fp-host-rules-');
  let store: SqliteGraphStore;
  const rules = loadRules(DEFAULT_RULES_FILE);
  const py = proc(10, T0, '/usr/bin/python3');
  const attacker = ep('203.0.113.9', 443);
  const memfd = file('memfd:payload', T0 + 20, { fileType: 'memfd' });
  const fileless = proc(11, T0 + 30, '/proc/self/fd/4');
  const shadow = file('/etc/shadow', 0);
  const link = file('/tmp/x', T0 + 40, { fileType: 'symlink', linkTarget: '/etc/shadow' });
  const planted = file('/etc/cron.d/job', T0 + 50);
  const packet = ep('packet', 3, { socketKind: 'packet' });
  const nsProc = proc(12, T0 + 60, '/usr/bin/unshare', { nsChanged: T0 + 61, nsFlags: 0x20000 });
  const tracee = proc(13, T0 + 70, '/usr/bin/python3', { traceme: T0 + 71 });
  const gdb = proc(14, T0 + 80, '/usr/bin/gdb');
  const victim = proc(15, T0 + 81, '/usr/bin/sleep');
  const su = proc(16, T0 + 90, '/usr/bin/su', { env: ['GLIBC_TUNABLES=glibc.tune.x=1'] });
  // Benign look-alikes.
  const benign = proc(20, T0 + 100, '/usr/bin/cat', { env: ['PATH=/bin'] });
  const killer = proc(21, T0 + 101, '/usr/bin/kill');

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    const engine = new RuleEngine(rules);
    const history: Batch[] = [
      batch(0, [
        ['USED', py, attacker, T0 + 10, { initiated: true }],
        ['WAS_GENERATED_BY', memfd, py, T0 + 20],
        ['WAS_INFORMED_BY', fileless, py, T0 + 30],
        ['USED', fileless, memfd, T0 + 30, { exec: true }],
        ['USED', py, shadow, T0 + 35, { openFlags: 0, rc: -13 }],
        ['WAS_GENERATED_BY', link, py, T0 + 40],
        ['WAS_GENERATED_BY', planted, py, T0 + 50, { openFlags: 577 }],
        ['USED', py, packet, T0 + 55],
        ['WAS_INFORMED_BY', victim, gdb, T0 + 82, { ptrace: 16 }],
      ], [nsProc, tracee, su]),
      batch(1, [
        ['USED', benign, file('/etc/passwd', 0), T0 + 100, { openFlags: 0 }],
        ['WAS_GENERATED_BY', file('/dev/null', 0), benign, T0 + 101, { openFlags: 1 }],
        ['WAS_GENERATED_BY', file('/dev/pts/0', T0 + 102), benign, T0 + 102],
        ['WAS_GENERATED_BY', file('/tmp/ok', T0 + 103, { fileType: 'symlink', linkTarget: '/tmp/data' }), benign, T0 + 103],
        ['USED', benign, file('/usr/bin/cat', 0), T0 + 100, { exec: true }],
        ['USED', benign, ep('127.0.0.1', 8080), T0 + 104, { initiated: true }],
        ['WAS_INFORMED_BY', benign, killer, T0 + 105, { signal: 15 }],
      ]),
    ];
    for (const b of history) await applyBatch(store, b, undefined, engine);
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alerts = async () => (await store.alerts({ limit: 100, offset: 0 })) as AlertNode[];

  it('raises each host detection once, on its action', async () => {
    const a = await alerts();
    const by = (rule: string) => a.filter((x) => x.rule === rule);
    expect(by('fileless-exec')).toEqual([expect.objectContaining({ subject: fileless.id, object: memfd.id, severity: 'critical' })]);
    expect(by('sensitive-file-open')).toEqual([expect.objectContaining({ subject: py.id, object: shadow.id })]);
    expect(by('sensitive-file-open')[0]!.summary).toContain('tried to open (error 13)');
    expect(by('link-to-sensitive')).toEqual([expect.objectContaining({ subject: py.id, object: link.id })]);
    expect(by('system-dir-write')).toEqual([expect.objectContaining({ subject: py.id, object: planted.id })]);
    expect(by('raw-socket')).toEqual([expect.objectContaining({ subject: py.id, object: packet.id })]);
    expect(by('namespace-change')).toEqual([expect.objectContaining({ subject: nsProc.id, time: T0 + 61 })]);
    expect(by('ptrace').map((x) => x.subject).sort()).toEqual([gdb.id, tracee.id].sort());
    expect(by('loader-env')).toEqual([expect.objectContaining({ subject: su.id })]);
  });

  it('raises nothing on the benign look-alikes (/etc/passwd read, /dev/null and tty writes, a symlink to data, a normal exec, kill)', async () => {
    const touched = new Set((await alerts()).flatMap((x) => [x.subject, x.object]));
    expect(touched.has(benign.id)).toBe(false);
    expect(touched.has(killer.id)).toBe(false);
  });

  it('the fileless-exec alert traces back through the memfd to the network peer', async () => {
    const alert = (await alerts()).find((x) => x.rule === 'fileless-exec')!;
    const g = await trace(store, alert.id, { direction: 'backward', scope: ALL_TENANTS });
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const n of [fileless, memfd, py, attacker]) expect(ids.has(n.id)).toBe(true);
  });

  it('tells capture what to keep: the sensitive paths (failed opens) and the named exec variables', () => {
    const needs = captureNeeds(rules);
    expect(needs.attemptPaths).toContain('/etc/shadow');
    expect(needs.execEnv.sort()).toEqual(['GLIBC_TUNABLES', 'LD_AUDIT', 'LD_PRELOAD']);
  });
});
