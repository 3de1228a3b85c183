import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { edgeId, endpointId, fileId, instanceId, processId, type Batch, type GraphEdge, type GraphNode } from '@faasprov/model';
import { openGraphStore, SqliteGraphStore, type GraphStore } from '@faasprov/store';
import { ApiKeys, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

/**
 * An instance whose root had exited before the agent read its tenant (Instance.factsUnread, its
 * environment's names out of reach): what it made is marked tenantUnknown. Deny by default: no
 * tenant's key sees it, not even as a shared entity (a file, an endpoint) or an alert; the admin does.
 */
const KEYS = { a: 'key-unknown-a-0123456789abcdef', admin: 'key-unknown-admin-0123456789ab' };
const m = `tu${randomBytes(4).toString('hex')}`;
const node = `node-${m}`;
const T = 1_700_000_000_000_000;

const inst = (pid: number, extra: Record<string, unknown>): GraphNode =>
  ({ id: instanceId(node, pid, T), type: 'Instance', node, rootPid: pid, start: T, mode: 'process-tree', ...extra }) as GraphNode;
const proc = (pid: number, extra: Record<string, unknown>): GraphNode =>
  ({ id: processId(node, pid, T + pid), type: 'Process', node, pid, start: T + pid, exe: '/bin/sh', argv: ['sh'], ...extra }) as GraphNode;
const file = (path: string, version: number, extra: Record<string, unknown> = {}): GraphNode =>
  ({ id: fileId(node, path, version), type: 'File', node, path, version, ...extra }) as GraphNode;
const edge = (type: GraphEdge['type'], a: GraphNode, b: GraphNode, t: number): GraphEdge => ({ id: edgeId(type, a.id, b.id), type, from: a.id, to: b.id, firstTime: t, lastTime: t, count: 1, bytes: 1 });

const unknownInst = inst(10, { factsUnread: 'exited', envFrom: 'exec', envTruncated: true });
const pU = proc(10, { tenantUnknown: true });
const fU = file(`/work/${m}-secret.txt`, T + 20, { tenantUnknown: true });
const epU = { id: endpointId('10.99.0.1', 7000), type: 'Endpoint', address: '10.99.0.1', port: 7000, tenantUnknown: true } as GraphNode;
const shared = file(`/etc/${m}-shared.conf`, 0);
const aInst = inst(20, { function: 'fn-a', tenant: 'team-a' });
const pA = proc(20, { tenant: 'team-a' });
const fA = file(`/work/${m}-a-out.txt`, T + 40, { tenant: 'team-a' });
const batch: Batch = {
  agent: `${node}:x`,
  seq: 0,
  nodes: [unknownInst, pU, fU, epU, shared, aInst, pA, fA],
  edges: [
    edge('WAS_ASSOCIATED_WITH', pU, unknownInst, T + 10),
    edge('USED', pU, shared, T + 15),
    edge('WAS_GENERATED_BY', fU, pU, T + 20),
    edge('WAS_GENERATED_BY', epU, pU, T + 21),
    edge('WAS_ASSOCIATED_WITH', pA, aInst, T + 30),
    // team-a reads what the unknown tenant wrote: the file is a boundary for team-a.
    edge('USED', pA, fU, T + 35),
    edge('WAS_GENERATED_BY', fA, pA, T + 40),
  ],
};

describe.each([['SQLite'], ['Neo4j']])('what an instance of unknown tenant made (%s): deny by default', (kind) => {
  const dir = tempDir('fp-tu-');
  let store: GraphStore;
  let app: FastifyInstance;
  const get = async (key: string, url: string) => {
    const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    return { status: r.statusCode, body: r.body, json: () => JSON.parse(r.body) as Record<string, unknown> };
  };

  beforeAll(async () => {
    store = kind === 'SQLite' ? new SqliteGraphStore(join(dir, 's.db')) : await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ rules: [{ id: 'tu-secret-write', kind: 'file-write', severity: 'high', description: 'a secret written', paths: ['**/*-secret.txt'] }] }));
    expect((await applyBatch(store, structuredClone(batch), undefined, new RuleEngine(loadRules(join(dir, 'rules.json'))))).status).toBe('stored');
    const keys = new ApiKeys([
      { name: 'a', role: 'investigator', tenants: ['team-a'], key: KEYS.a },
      { name: 'root', role: 'admin', tenants: '*', key: KEYS.admin },
    ]);
    app = await buildServer({ store, keys, uiDir: false });
  }, 60000);
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hides its file, endpoint, process and instance from a tenant, in search and one by one', async () => {
    const listed = async (key: string, q: string) => ((await get(key, `/api/v1/nodes?q=${q}&limit=500`)).json().nodes as GraphNode[]).map((n) => n.id).sort();
    expect(await listed(KEYS.a, m)).toEqual([fA.id, shared.id].sort());
    expect(await listed(KEYS.a, '10.99.0.1')).toEqual([]);
    expect(await listed(KEYS.admin, m)).toEqual([fU.id, fA.id, shared.id].sort());
    for (const n of [fU, epU, pU, unknownInst]) {
      expect([n.type, (await get(KEYS.a, `/api/v1/nodes/${n.id}`)).status]).toEqual([n.type, 404]);
      expect([n.type, (await get(KEYS.admin, `/api/v1/nodes/${n.id}`)).status]).toEqual([n.type, 200]);
    }
  });

  it('shows it to a tenant who reached it only as a redacted boundary', async () => {
    const r = await get(KEYS.a, `/api/v1/trace?from=${pA.id}&direction=backward`);
    expect(r.status).toBe(200);
    expect(r.body).not.toContain(`${m}-secret`);
    expect(r.body).toContain(fU.id);
  });

  it('keeps the alert it raised from a tenant, and shows it to the admin marked', async () => {
    const alerts = async (key: string) => ((await get(key, '/api/v1/alerts?limit=500')).json().alerts as { subject: string; tenantUnknown?: boolean }[]).filter((a) => a.subject === pU.id);
    expect(await alerts(KEYS.a)).toEqual([]);
    expect(await alerts(KEYS.admin)).toEqual([expect.objectContaining({ subject: pU.id, tenantUnknown: true })]);
  });
});
