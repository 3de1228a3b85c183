import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { edgeId, fileId, instanceId, processId, type Batch, type GraphNode } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { ApiKeys, applyBatch } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const proc = (pid: number, start: number): GraphNode => ({ id: processId('n', pid, start), type: 'Process', node: 'n', pid, start, exe: `/bin/p${pid}`, argv: [`p${pid}`] });
const file = (path: string, version: number): GraphNode => ({ id: fileId('n', path, version), type: 'File', node: 'n', path, version });

/**
 * P reads /data/config at 100; Q writes /data/config (the same version id: the agent could not
 * tell) at 500; P writes /out at 200. P's backward trace has the read, never Q's later write.
 */
function timeGraph(): Batch {
  const P = proc(1, 10);
  const Q = proc(2, 20);
  const cfg = file('/data/config', 0);
  const out = file('/out', 200);
  const secret = file('/secret', 0);
  const e = (type: Batch['edges'][number]['type'], a: GraphNode, b: GraphNode, t: number) => ({ id: edgeId(type, a.id, b.id), type, from: a.id, to: b.id, firstTime: t, lastTime: t, count: 1, bytes: 1 });
  return {
    agent: 'n:api-test',
    seq: 0,
    nodes: [P, Q, cfg, out, secret],
    edges: [e('USED', P, cfg, 100), e('WAS_GENERATED_BY', out, P, 200), e('WAS_GENERATED_BY', cfg, Q, 500), e('USED', Q, secret, 400)],
  };
}

/** A fresh embedded store in dir, or the test Neo4j emptied. */
async function emptyStore(kind: 'sqlite' | 'neo4j', dir: string): Promise<GraphStore> {
  if (kind === 'sqlite') return new SqliteGraphStore(join(dir, 's.db'));
  const neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
  await neo.clear();
  return neo;
}

for (const kind of ['sqlite', 'neo4j'] as const) {
  describe(`query API on the ${kind} store`, () => {
    const dir = tempDir('fp-api-');
    let store: GraphStore;
    let app: FastifyInstance;
    let url: string;
    const g = timeGraph();
    const [P, Q, cfg, out, secret] = g.nodes;

    beforeAll(async () => {
      store = await emptyStore(kind, dir);
      await applyBatch(store, g);
      app = await buildServer({ store });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
    }, 120000);
    afterAll(async () => {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const get = async (path: string) => {
      const r = await fetch(`${url}${path}`);
      return { status: r.status, body: (r.headers.get('content-type') ?? '').includes('json') ? ((await r.json()) as Record<string, unknown>) : await r.text() };
    };
    const ids = (body: unknown) => ((body as { nodes: { id: string }[] }).nodes ?? []).map((n) => n.id).sort();

    it('follows only edges that could have carried the effect', async () => {
      const back = await get(`/api/v1/trace?from=${out!.id}&direction=backward`);
      expect(back.status).toBe(200);
      // /out <- P <- read of /data/config at 100; Q's write of it at 500 came later.
      expect(ids(back.body)).toEqual([P!.id, cfg!.id, out!.id].sort());
      expect((back.body as { ends: string[] }).ends).toEqual([cfg!.id]);
      const fwd = await get(`/api/v1/trace?from=${secret!.id}&direction=forward`);
      // Q read /secret at 400, then wrote /data/config at 500; P had read it at 100: P is not reached.
      expect(ids(fwd.body)).toEqual([Q!.id, cfg!.id, secret!.id].sort());
      const window = await get(`/api/v1/trace?from=${out!.id}&direction=backward&since=150`);
      expect(ids(window.body)).toEqual([P!.id, out!.id].sort());
    });

    it('searches nodes and summarises one node', async () => {
      const s = await get('/api/v1/nodes?type=File&q=CONFIG');
      expect(ids(s.body)).toEqual([cfg!.id]);
      const page = await get('/api/v1/nodes?limit=2&offset=0');
      expect((page.body as { nodes: unknown[]; next: number }).nodes).toHaveLength(2);
      expect((page.body as { next: number }).next).toBe(2);
      const one = await get(`/api/v1/nodes/${P!.id}`);
      expect(one.body).toMatchObject({ node: { id: P!.id }, neighbours: { out: { USED: 1 }, in: { WAS_GENERATED_BY: 1 } } });
    });

    it('exports traces as PROV-JSON, DOT and GraphML', async () => {
      const prov = await get(`/api/v1/trace?from=${out!.id}&format=prov-json`);
      expect(prov.body).toHaveProperty('activity');
      expect(prov.body).toHaveProperty('used');
      const dot = await get(`/api/v1/trace?from=${out!.id}&format=dot`);
      expect(String(dot.body)).toContain('digraph provenance');
      const gml = await get(`/api/v1/trace?from=${out!.id}&format=graphml`);
      expect(String(gml.body)).toContain('<graphml');
    });

    it.each([
      [`/api/v1/trace?from=${encodeURIComponent("p_x' OR 1=1 //")}`, 'querystring/from'],
      [`/api/v1/trace?from=${encodeURIComponent('MATCH (n) DETACH DELETE n')}`, 'querystring/from'],
      ['/api/v1/trace?from=p_00000000000000000000000000000000&depth=100000', 'querystring/depth'],
      ['/api/v1/trace?from=p_00000000000000000000000000000000&since=1e400', 'querystring/since'],
      ['/api/v1/trace?from=p_00000000000000000000000000000000&since=99999999999999999999', 'querystring/since'],
      ['/api/v1/trace?from=p_00000000000000000000000000000000&direction=sideways', 'querystring/direction'],
      ['/api/v1/nodes?limit=1000000', 'querystring/limit'],
      ['/api/v1/nodes?offset=-1', 'querystring/offset'],
      [`/api/v1/nodes?q=${'x'.repeat(300)}`, 'querystring/q'],
      [`/api/v1/nodes/${encodeURIComponent('p_ä☃\u0000')}`, 'params/id'],
    ])('refuses %s with 400 naming the field', async (path, field) => {
      const r = await get(path);
      expect(r.status).toBe(400);
      // Fastify's schema check names the field; the few values it lets through (1e400) are
      // refused by the query itself, naming the option.
      expect((r.body as { code: string }).code).toMatch(/^FP_ERR_BAD_(REQUEST|OPTION)$/);
      expect((r.body as { message: string }).message).toContain(field.split('/')[1]);
    });

    it('answers 404 for unknown nodes and stays intact after hostile text searches', async () => {
      expect((await get('/api/v1/trace?from=p_00000000000000000000000000000000')).status).toBe(404);
      expect((await get(`/api/v1/nodes/f_00000000000000000000000000000000`)).status).toBe(404);
      const evil = await get(`/api/v1/nodes?q=${encodeURIComponent("') RETURN 1 UNION MATCH (n) DETACH DELETE n //")}`);
      expect(evil.status).toBe(200);
      expect((await store.stats()).nodes).toBe(5);
    });

    it('serves its OpenAPI description', async () => {
      const r = await get('/docs/json');
      expect(r.status).toBe(200);
      expect(Object.keys((r.body as { paths: object }).paths)).toEqual(expect.arrayContaining(['/api/v1/trace', '/api/v1/nodes', '/api/v1/nodes/{id}', '/v1/batches']));
      // /docs can Authorize: the description declares the bearer key every route takes.
      const doc = r.body as { components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> }; security?: Record<string, string[]>[] };
      expect(doc.components?.securitySchemes).toEqual({ bearerKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
      expect(doc.security).toEqual([{ bearerKey: [] }]);
    });
  });
}

/**
 * Two tenants on one node. A's process reads the shared /etc/hostname and writes /shared/drop;
 * B's process reads /shared/drop (tenant A's file version) and writes B's own /b/out.
 */
function tenantGraph(): Batch {
  const pa = { ...proc(10, 1), tenant: 'team-a' } as GraphNode;
  const pb = { ...proc(20, 2), tenant: 'team-b' } as GraphNode;
  const host = file('/etc/hostname', 0);
  const drop = { ...file('/shared/drop', 100), tenant: 'team-a' } as GraphNode;
  const bout = { ...file('/b/out', 300), tenant: 'team-b' } as GraphNode;
  const ia: GraphNode = { id: instanceId('n', 10, 1), type: 'Instance', node: 'n', rootPid: 10, start: 1, mode: 'process-tree', function: 'fn-a', tenant: 'team-a' };
  const e = (type: Batch['edges'][number]['type'], a: GraphNode, b: GraphNode, t: number) => ({ id: edgeId(type, a.id, b.id), type, from: a.id, to: b.id, firstTime: t, lastTime: t, count: 1, bytes: 1 });
  return {
    agent: 'n:tenants',
    seq: 0,
    nodes: [pa, pb, host, drop, bout, ia],
    edges: [e('USED', pa, host, 50), e('WAS_GENERATED_BY', drop, pa, 100), e('USED', pb, drop, 200), e('WAS_GENERATED_BY', bout, pb, 300), e('WAS_ASSOCIATED_WITH', pa, ia, 1)],
  };
}

for (const kind of ['sqlite', 'neo4j'] as const) {
  describe(`tenants and roles on the ${kind} store`, () => {
    const dir = tempDir('fp-tenant-');
    let store: GraphStore;
    let app: FastifyInstance;
    let url: string;
    const g = tenantGraph();
    const [pa, pb, host, drop, bout, ia] = g.nodes;
    const KEYS = { a: 'key-team-a-0123456789abcdef01', b: 'key-team-b-0123456789abcdef01', admin: 'key-admin-0123456789abcdef012', agent: 'key-agent-0123456789abcdef012' };

    beforeAll(async () => {
      store = await emptyStore(kind, dir);
      await applyBatch(store, g);
      const keys = new ApiKeys([
        { name: 'a', role: 'investigator', tenants: ['team-a'], key: KEYS.a },
        { name: 'b', role: 'investigator', tenants: ['team-b'], key: KEYS.b },
        { name: 'root', role: 'admin', tenants: '*', key: KEYS.admin },
        { name: 'tenants', role: 'agent', tenants: '*', key: KEYS.agent },
      ]);
      app = await buildServer({ store, keys });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
    }, 120000);
    afterAll(async () => {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const as = async (key: string, path: string) => {
      const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      const text = await r.text();
      return { status: r.status, text, json: () => JSON.parse(text) as { nodes: (GraphNode & { redacted?: boolean })[] } };
    };

    it('keeps tenant B out of every answer to a tenant-A key, trace expansion included', async () => {
      const search = (await as(KEYS.a, '/api/v1/nodes?limit=500')).json().nodes.map((n) => n.id).sort();
      expect(search).toEqual([pa!.id, host!.id, drop!.id, ia!.id].sort());
      expect((await as(KEYS.a, `/api/v1/nodes/${pb!.id}`)).status).toBe(404);
      expect((await as(KEYS.a, `/api/v1/nodes/${bout!.id}`)).status).toBe(404);
      expect((await as(KEYS.a, `/api/v1/trace?from=${bout!.id}`)).status).toBe(404);
      // Forward from A's own file: B's process is a redacted boundary, B's output never appears.
      const fwd = (await as(KEYS.a, `/api/v1/trace?from=${drop!.id}&direction=forward`)).json();
      const byId = new Map(fwd.nodes.map((n) => [n.id, n]));
      expect(byId.get(pb!.id)).toEqual({ id: pb!.id, type: 'Process', redacted: true });
      expect(byId.has(bout!.id)).toBe(false);
      for (const fmt of ['prov-json', 'dot', 'graphml']) {
        const x = await as(KEYS.a, `/api/v1/trace?from=${drop!.id}&direction=forward&format=${fmt}`);
        expect(x.status).toBe(200);
        expect(x.text).not.toContain('/b/out');
        expect(x.text).not.toContain('/bin/p20');
      }
      expect((await as(KEYS.a, '/api/v1/stats')).status).toBe(400);
    });

    it('shows tenant B its own side, and A as a boundary', async () => {
      const back = (await as(KEYS.b, `/api/v1/trace?from=${bout!.id}`)).json();
      const byId = new Map(back.nodes.map((n) => [n.id, n]));
      expect(byId.get(pb!.id)).toMatchObject({ exe: '/bin/p20' });
      expect(byId.get(drop!.id)).toEqual({ id: drop!.id, type: 'File', redacted: true });
      expect(byId.has(pa!.id)).toBe(false);
      expect(byId.has(host!.id)).toBe(false);
    });

    it('finds paths and timelines within the tenant', async () => {
      const p = await as(KEYS.admin, `/api/v1/paths?from=${host!.id}&to=${bout!.id}`);
      expect(p.status).toBe(200);
      expect(p.json().nodes.map((n) => n.id)).toEqual([host!.id, pa!.id, drop!.id, pb!.id, bout!.id]);
      // The only path crosses tenant B: for tenant A it does not exist.
      expect((await as(KEYS.a, `/api/v1/paths?from=${host!.id}&to=${bout!.id}`)).status).toBe(404);
      expect((await as(KEYS.admin, `/api/v1/paths?from=${bout!.id}&to=${host!.id}`)).status).toBe(404);
      const t = JSON.parse((await as(KEYS.a, '/api/v1/timeline?function=fn-a')).text) as { entries: { time: number; action: string; object: { id: string } }[] };
      expect(t.entries.map((x) => [x.time, x.action, x.object.id])).toEqual([[50, 'USED', host!.id], [100, 'WAS_GENERATED_BY', drop!.id]]);
      const tb = JSON.parse((await as(KEYS.b, '/api/v1/timeline?function=fn-a')).text) as { entries: unknown[] };
      expect(tb.entries).toEqual([]);
    });

    it('runs read-only Cypher for admins only, on Neo4j only', async () => {
      const post = (key: string, body: unknown) =>
        fetch(`${url}/api/v1/cypher`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post(KEYS.a, { query: 'MATCH (n) RETURN n' })).status).toBe(403);
      const ok = await post(KEYS.admin, { query: 'MATCH (n:Node) RETURN count(n) AS n' });
      if (kind === 'sqlite') {
        expect(ok.status).toBe(501);
        return;
      }
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ rows: [{ n: 6 }], truncated: false });
      const write = await post(KEYS.admin, { query: 'MATCH (n) DETACH DELETE n' });
      expect(write.status).toBe(403);
      expect((await store.stats()).nodes).toBe(6);
      const many = await post(KEYS.admin, { query: 'UNWIND range(1, 5000) AS x RETURN x' });
      expect(((await many.json()) as { rows: unknown[]; truncated: boolean })).toMatchObject({ truncated: true });
      expect((await post(KEYS.admin, { query: 'x'.repeat(20000) })).status).toBe(413);
    });

    it('lets an admin see everything and keeps agents out', async () => {
      const all = (await as(KEYS.admin, `/api/v1/trace?from=${bout!.id}`)).json();
      expect(all.nodes.map((n) => n.id).sort()).toEqual([pa!.id, pb!.id, host!.id, drop!.id, bout!.id, ia!.id].sort());
      expect((await as(KEYS.agent, '/api/v1/nodes')).status).toBe(403);
      expect((await as('not-a-key', '/api/v1/nodes')).status).toBe(401);
      expect((await as(KEYS.a, '/v1/collector/metrics')).status).toBe(403);
      expect((await as(KEYS.admin, '/v1/collector/metrics')).status).toBe(200);
    });
  });
}
