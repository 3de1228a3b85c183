import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  edgeId, endpointId, fileId, gapId, gpuBufferId, instanceId, invocationId, processId, unitId,
  type AlertNode, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode, type InstanceNode, type ProcessNode, type UnitNode, ALL_TENANTS } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { trace } from '@faasprov/graph-service';
import { faasprov, tempDir } from './helpers.js';

const N = 'node-r';
const T0 = 1_790_000_000_000_000;
const inst = (pid: number, fn: string, tenant: string): InstanceNode => ({
  id: instanceId(N, pid, T0), type: 'Instance', node: N, rootPid: pid, start: T0, mode: 'process-tree', function: fn, tenant,
});
const proc = (pid: number, start: number, exe: string, tenant: string): ProcessNode => ({
  id: processId(N, pid, start), type: 'Process', node: N, pid, start, exe, argv: [exe], tenant,
});
const unit = (p: ProcessNode, callId: string, start: number, i: InstanceNode): UnitNode => ({
  id: unitId(N, p.pid, p.start, callId, start), type: 'Unit', node: N, pid: p.pid, processStart: p.start, callId, start,
  instance: i.id, function: i.function, tenant: i.tenant,
});
const file = (path: string, version: number): GraphNode => ({ id: fileId(N, path, version), type: 'File', node: N, path, version });
const ep = (address: string, port: number): GraphNode => ({ id: endpointId(address, port), type: 'Endpoint', address, port });

/** A batch of edges (and their nodes) as an agent would send it. */
function batch(seq: number, edges: [EdgeType, GraphNode, GraphNode, number, EdgeAttrs?][], extra: GraphNode[] = []): Batch {
  const nodes = new Map<string, GraphNode>(extra.map((n) => [n.id, n]));
  const es: GraphEdge[] = edges.map(([type, from, to, t, attrs]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10, ...(attrs ? { attrs } : {}) };
  });
  return { agent: `${N}:1`, seq, nodes: [...nodes.values()], edges: es };
}

// One attack-shaped history and one benign one, through the real ingest path on both stores.
describe('alert rules (collector/rules/default.json) on both stores', () => {
  const dir = tempDir('fp-rules-');
  const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
  let sqlite: GraphStore;
  let neo: GraphStore;
  const shop = inst(100, 'authorize-cc', 'shop');
  const other = inst(200, 'photos', 'media');
  const py = proc(101, T0 + 1, '/usr/bin/python3', 'shop');
  const u1 = unit(py, 'call-1', T0 + 10, shop);
  const u2 = unit(py, 'call-2', T0 + 100, shop);
  const payload = file('/home/app/function/patch.py', T0 + 20);
  const secret = file('/var/openfaas/secrets/card-key', 0);
  const attacker = ep('203.0.113.9', 4444);
  const shell = proc(102, T0 + 110, '/bin/sh', 'shop');
  const gpuDev = 'gpu-server:127.0.0.9:7000/cuda0';
  const buf: GraphNode = { id: gpuBufferId(gpuDev, '0x7f00', T0 + 30), type: 'GpuBuffer', device: gpuDev, ptr: '0x7f00', allocated: T0 + 30, size: 64, api: 'cudaMalloc', rc: 0, tenant: 'shop' };
  const ph = proc(201, T0 + 2, '/usr/bin/python3', 'media');
  const u3 = unit(ph, 'call-3', T0 + 120, other);
  const gap: GraphNode = { id: gapId(`${N}:1`, 'perf-buffer-overflow', T0 + 130, 1), type: 'Gap', agent: `${N}:1`, cause: 'perf-buffer-overflow', from: T0 + 130, to: T0 + 131, count: 12, seq: 1 };
  // Operations charged by inference: nothing lost, so no capture-gap alert.
  const inferred: GraphNode = { id: gapId(`${N}:1`, 'attribution-inferred', T0 + 104, 2), type: 'Gap', agent: `${N}:1`, cause: 'attribution-inferred', from: T0 + 104, to: T0 + 104, count: 3, seq: 2 };
  const history: Batch[] = [
    batch(0, [
      ['PART_OF', u1, { id: invocationId('call-1', 'shop'), type: 'Invocation', callId: 'call-1', start: T0 + 10, source: 'shim', tenant: 'shop' }, T0 + 10],
      ['USED', u1, attacker, T0 + 15, { initiated: true }],
      ['WAS_GENERATED_BY', payload, u1, T0 + 20],
      ['WAS_GENERATED_BY', buf, u1, T0 + 30, { copyKind: 1 }],
      ['USED', u1, ep('127.0.0.1', 8080), T0 + 31, { initiated: true }], // allowed
      ['USED', u1, ep('203.0.113.50', 51000), T0 + 32], // accepted, not initiated
    ]),
    batch(1, [
      ['USED', u2, payload, T0 + 101],
      ['USED', u2, secret, T0 + 102],
      ['USED', u2, attacker, T0 + 103, { initiated: true }],
      ['WAS_INFORMED_BY', shell, u2, T0 + 110],
      ['USED', u3, buf, T0 + 121, { copyKind: 2, crossTenant: true }],
      ['USED', u3, file('/tmp/photo.jpg', 0), T0 + 122], // benign
      ['WAS_GENERATED_BY', file('/tmp/out.jpg', T0 + 123), u3, T0 + 123], // benign
    ], [gap, inferred]),
  ];

  beforeAll(async () => {
    sqlite = new SqliteGraphStore(join(dir, 's.db'));
    neo = await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    await (neo as Neo4jGraphStore).clear();
    for (const s of [sqlite, neo]) {
      for (const b of history) await applyBatch(s, structuredClone(b), undefined, rules);
      // A re-delivered batch raises nothing twice.
      expect((await applyBatch(s, structuredClone(history[1]!), undefined, rules)).status).toBe('duplicate');
    }
  }, 120000);

  afterAll(async () => {
    await sqlite?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alerts = async (s: GraphStore) => (await s.alerts({ limit: 100, offset: 0 })) as AlertNode[];

  it('raises each rule once on what it concerns, and nothing on benign operations', async () => {
    const a = await alerts(sqlite);
    const by = (rule: string) => a.filter((x) => x.rule === rule);
    expect(a.map((x) => x.rule).sort()).toEqual([
      'capture-gap', 'code-dir-write', 'code-from-another-invocation', 'cross-invocation-flow', 'egress-outside-allow-list', 'egress-outside-allow-list',
      'gpu-buffer-cross-read', 'secret-read', 'shell-in-function',
    ]);
    expect(by('egress-outside-allow-list').map((x) => x.subject).sort()).toEqual([u1.id, u2.id].sort());
    expect(by('cross-invocation-flow')[0]).toMatchObject({ subject: u2.id, object: payload.id, severity: 'high', function: 'authorize-cc', tenant: 'shop' });
    expect(by('shell-in-function')[0]).toMatchObject({ subject: shell.id, object: u2.id });
    // u2 loads the code u1 planted.
    expect(by('code-from-another-invocation')[0]).toMatchObject({ subject: u2.id, object: payload.id, severity: 'critical' });
    expect(by('gpu-buffer-cross-read')[0]).toMatchObject({ subject: u3.id, tenant: 'media' });
    // Newest first.
    expect(a.map((x) => x.time)).toEqual([...a.map((x) => x.time)].sort((x, y) => y - x));
    // Nothing about the benign files or the allowed and accepted connections.
    const objects = new Set(a.map((x) => x.object));
    for (const n of [file('/tmp/photo.jpg', 0), file('/tmp/out.jpg', T0 + 123), ep('127.0.0.1', 8080), ep('203.0.113.50', 51000)]) expect(objects.has(n.id)).toBe(false);
  });

  it('the backward trace from the exfiltration alert reaches the payload, the invocation that planted it and the attacker', async () => {
    const exfil = (await alerts(sqlite)).find((x) => x.rule === 'egress-outside-allow-list' && x.subject === u2.id)!;
    const g = await trace(sqlite, exfil.id, { direction: 'backward', scope: ALL_TENANTS });
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const n of [u2, payload, u1, attacker, secret]) expect(ids.has(n.id)).toBe(true);
  });

  it('answers the same on Neo4j, with severity, function and tenant filters', async () => {
    const [a, b] = [await alerts(sqlite), await alerts(neo)];
    expect(b.map((x) => x.id)).toEqual(a.map((x) => x.id));
    for (const s of [sqlite, neo]) {
      expect((await s.alerts({ limit: 100, offset: 0, minSeverity: 'critical' })).map((x) => (x as AlertNode).rule).sort()).toEqual(['code-dir-write', 'code-from-another-invocation', 'gpu-buffer-cross-read']);
      expect((await s.alerts({ limit: 100, offset: 0, function: 'photos' })).map((x) => (x as AlertNode).rule)).toEqual(['gpu-buffer-cross-read']);
      // A tenant sees its own alerts and the capture gaps (which concern everyone).
      expect((await s.alerts({ limit: 100, offset: 0, tenants: ['media'] })).map((x) => (x as AlertNode).rule).sort()).toEqual(['capture-gap', 'gpu-buffer-cross-read']);
    }
  });

  it('refuses a bad rules file whole, naming the problem', async () => {
    const bad = join(dir, 'bad.json');
    for (const [doc, why] of [
      ['{"rules":[{"id":"x","kind":"connect-outside","severity":"high","allow":["10.0.0.0/33"]}]}', /not a CIDR/],
      ['{"rules":[{"id":"x","kind":"nope","severity":"high"}]}', /rules/],
      ['{"rules":[{"id":"x","kind":"gap","severity":"high"},{"id":"x","kind":"gap","severity":"low"}]}', /given twice/],
      ['not json', /not JSON/],
    ] as const) {
      writeFileSync(bad, doc);
      expect(() => loadRules(bad)).toThrow(why);
      const r = await faasprov(['up', '--store', join(dir, 'u.db'), '--no-auth', '--port', '0', '--rules', bad], { timeout: 30000 });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('FP_ERR_BAD_RULES');
    }
  });
});
