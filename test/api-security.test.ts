import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { request } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { edgeId, fileId, processId, type Batch, type GraphNode } from '@faasprov/model';
import { SqliteGraphStore, type GraphStore } from '@faasprov/store';
import { ApiKeys, applyBatch } from '@faasprov/collector';
import { buildServer, formatProvJson, requireScope, trace } from '@faasprov/graph-service';
import { faasprov, tempDir } from './helpers.js';

const KEYS = { a: 'key-team-a-0123456789abcdef01', admin: 'key-admin-0123456789abcdef012', agent: 'key-agent-0123456789abcdef012' };
const keys = () =>
  new ApiKeys([
    { name: 'a', role: 'investigator', tenants: ['team-a'], key: KEYS.a },
    { name: 'root', role: 'admin', tenants: '*', key: KEYS.admin },
    { name: 'sec', role: 'agent', tenants: '*', key: KEYS.agent },
  ]);

const proc = (pid: number, start: number, tenant?: string): GraphNode =>
  ({ id: processId('n', pid, start), type: 'Process', node: 'n', pid, start, exe: `/bin/p${pid}`, argv: [`p${pid}`], ...(tenant ? { tenant } : {}) }) as GraphNode;
const file = (path: string, version: number, tenant?: string): GraphNode =>
  ({ id: fileId('n', path, version), type: 'File', node: 'n', path, version, ...(tenant ? { tenant } : {}) }) as GraphNode;
const edge = (type: Batch['edges'][number]['type'], a: GraphNode, b: GraphNode, t: number) => ({ id: edgeId(type, a.id, b.id), type, from: a.id, to: b.id, firstTime: t, lastTime: t, count: 1, bytes: 1 });

/** A GET over real HTTP with the path sent byte for byte as written (fetch would normalise it). */
function rawGet(base: string, path: string, key?: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: key ? { authorization: `Bearer ${key}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('authentication by encapsulation (every spelling of an /api URL)', () => {
  const dir = tempDir('fp-sec-');
  let store: SqliteGraphStore;
  let app: FastifyInstance;
  let url: string;
  const p = proc(1, 10, 'team-a');
  const f = file('/secret/out', 20, 'team-a');

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    await applyBatch(store, { agent: 'n:sec', seq: 0, nodes: [p, f], edges: [edge('WAS_GENERATED_BY', f, p, 20)] });
    app = await buildServer({ store, keys: keys(), uiDir: false });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const spellings = (path: string) => [
    path,
    path.replace('/api/', '/%61pi/'),
    path.replace('/api/', '/%61%70%69/'),
    path.replace('/v1/', '/%76%31/'),
    path.replace('/api/', '//api/'),
    path.replace('/api/', '/api//'),
    path.replace('/api/', '/API/'),
    path.replace('/api/', '/./api/'),
    path.replace('/api/', '/x/../api/'),
    path.replace('/api/', '/api./'),
    path.replace('?', '/?'),
    path.replace('?', '.?'),
    path.replace('?', '%3F'),
    path.replace('/api/', '/%2Fapi/'),
  ];
  const routes = [
    `/api/v1/trace?from=${f.id}&format=dot`,
    `/api/v1/trace?from=${f.id}`,
    '/api/v1/nodes?limit=5',
    `/api/v1/nodes/${p.id}`,
    `/api/v1/paths?from=${p.id}&to=${f.id}`,
    '/api/v1/timeline?function=x',
    '/api/v1/alerts',
    '/api/v1/instances',
    '/api/v1/locality/remote-reads',
    '/api/v1/stats',
    '/api/v1/invocations/x',
  ];

  it('answers no URL spelling of a protected route without a key, over real HTTP', async () => {
    const statuses: Record<number, number> = {};
    for (const r of [...routes, '/v1/collector/metrics']) {
      for (const path of r.startsWith('/api/') ? spellings(r) : ['/v1/collector/metrics', '/v1/%63ollector/metrics', '/%76%31/collector/metrics', '//v1/collector/metrics']) {
        const res = await rawGet(url, path);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        // Refused (401) or no such route (404, 400 for a path the router cannot decode): never data, never 5xx.
        expect([400, 401, 404]).toContain(res.status);
        expect(res.body).not.toContain('/secret/out');
        expect(res.body).not.toContain('/bin/p1');
      }
    }
    process.stdout.write(`encoded-URL probes without a key: ${JSON.stringify(statuses)}\n`);
    // The decoded spellings do reach the routes, and are refused there.
    expect((await rawGet(url, `/%61pi/v1/trace?from=${f.id}&format=dot`)).status).toBe(401);
    expect((await rawGet(url, '/v1/%63ollector/metrics')).status).toBe(401);
    // With a key the same spelling answers: the hook authenticates the route, not the URL text.
    expect((await rawGet(url, `/%61pi/v1/trace?from=${f.id}&format=dot`, KEYS.a)).status).toBe(200);
  });

  it('refuses an agent key, a wrong key and an investigator on the admin-only counts', async () => {
    expect((await rawGet(url, '/%61pi/v1/nodes', KEYS.agent)).status).toBe(403);
    expect((await rawGet(url, '/%61pi/v1/nodes', 'x'.repeat(30))).status).toBe(401);
    expect((await rawGet(url, '/v1/%63ollector/metrics', KEYS.a)).status).toBe(403);
    expect((await rawGet(url, '/v1/%63ollector/metrics', KEYS.admin)).status).toBe(200);
  });

  it('lets no tenant-scoped key ingest (a batch may carry any tenant), and stores nothing', async () => {
    const scoped = new ApiKeys([{ name: 'a-admin', role: 'admin', tenants: ['team-a'], key: 'key-admin-a-0123456789abcdef01' }]);
    const s = await buildServer({ store, keys: scoped, uiDir: false });
    const before = await store.stats();
    const r = await s.inject({ method: 'POST', url: '/v1/batches', headers: { authorization: 'Bearer key-admin-a-0123456789abcdef01' }, payload: { agent: 'sec', seq: 7, nodes: [{ ...p, tenant: 'team-b' }], edges: [] } });
    await s.close();
    expect([r.statusCode, r.json<{ code: string }>().code]).toEqual([403, 'FP_ERR_FORBIDDEN']);
    expect(await store.stats()).toEqual(before);
  });

  it('checks the ingest key before reading the body', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/%62atches', headers: { 'content-type': 'application/json' }, payload: '{"agent":' });
    expect([r.statusCode, r.json<{ code: string }>().code]).toEqual([401, 'FP_ERR_UNAUTHORIZED']);
    const wrong = await app.inject({ method: 'POST', url: '/v1/batches', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.a}` }, payload: 'x'.repeat(1000) });
    expect([wrong.statusCode, wrong.json<{ code: string }>().code]).toEqual([403, 'FP_ERR_FORBIDDEN']);
  });

  it('denies by default: a query without a scope is an error, not every tenant', async () => {
    expect(() => requireScope(undefined, 'nodes')).toThrow(/no tenant scope/);
    expect(() => requireScope(null, 'nodes')).toThrow(/no tenant scope/);
    await expect(trace(store, f.id, { direction: 'backward' } as Parameters<typeof trace>[2])).rejects.toMatchObject({ code: 'FP_ERR_NO_SCOPE' });
    // A route someone registers outside the authenticating plugin gets no scope, so it cannot read.
    const s = await buildServer({ store, keys: keys(), uiDir: false });
    s.get('/api/v1/outside', async (req) => trace(store, f.id, { direction: 'backward', scope: req.scope }));
    const r = await s.inject({ url: '/api/v1/outside' });
    await s.close();
    expect([r.statusCode, r.json<{ code: string }>().code]).toEqual([403, 'FP_ERR_NO_SCOPE']);
    expect(r.body).not.toContain('/secret/out');
  });
});

describe('hostile numbers and 5xx bodies', () => {
  const dir = tempDir('fp-num-');
  let store: SqliteGraphStore;
  let app: FastifyInstance;
  const p = proc(1, 10);
  const f = file('/out', 20);

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    await applyBatch(store, { agent: 'n:num', seq: 0, nodes: [p, f], edges: [edge('WAS_GENERATED_BY', f, p, 20)] });
    app = await buildServer({ store, uiDir: false });
  });
  afterAll(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hostile = ['Infinity', '-Infinity', '1e309', '-1e309', 'NaN', '0x10', '', ' 5', '5.0', '1e2', '+5', '9'.repeat(400), '1,2'];
  const params: [string, string][] = [
    ['/api/v1/nodes', 'limit'], ['/api/v1/nodes', 'offset'], ['/api/v1/nodes', 'since'], ['/api/v1/nodes', 'until'],
    ['/api/v1/alerts', 'limit'], ['/api/v1/alerts', 'offset'], ['/api/v1/alerts', 'since'],
    ['/api/v1/instances', 'limit'], ['/api/v1/locality/remote-reads', 'limit'], ['/api/v1/locality/remote-reads', 'until'],
    [`/api/v1/trace?from=${p.id}`, 'depth'], [`/api/v1/trace?from=${p.id}`, 'since'],
    [`/api/v1/paths?from=${p.id}&to=${f.id}`, 'maxDepth'], ['/api/v1/timeline?function=x', 'limit'],
  ];

  it.each(params)('%s: %s refuses every non-decimal or out-of-range number with 400 naming it', async (route, name) => {
    for (const v of hostile) {
      const r = await app.inject({ url: `${route}${route.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(v)}` });
      expect([r.statusCode, v]).toEqual([400, v]);
      const body = r.json<{ code: string; message: string }>();
      expect(body.code).toBe('FP_ERR_BAD_REQUEST');
      expect(body.message).toContain(`querystring/${name}`);
    }
  });

  it('answers a failing store with FP_ERR_INTERNAL and no internals', async () => {
    const broken = Object.create(store) as GraphStore;
    broken.searchNodes = async () => {
      throw Object.assign(new Error('SQLITE_MISMATCH: datatype mismatch in /var/lib/store.db'), { code: 'SQLITE_MISMATCH' });
    };
    const b = await buildServer({ store: broken, uiDir: false });
    const r = await b.inject({ url: '/api/v1/nodes' });
    await b.close();
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ code: 'FP_ERR_INTERNAL', message: 'internal error (see the server log)' });
  });

  it('refuses a batch time of 1e20 at ingest, and exports a stored huge time without failing', async () => {
    const before = await store.stats();
    const huge = proc(2, 1e20);
    const r = await app.inject({ method: 'POST', url: '/v1/batches', payload: { agent: 'n:num', seq: 1, nodes: [huge], edges: [] } });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ message: string }>().message).toMatch(/nodes\/0\/(start|id)/);
    const e = await app.inject({ method: 'POST', url: '/v1/batches', payload: { agent: 'n:num', seq: 1, nodes: [p, f], edges: [{ ...edge('USED', p, f, 1), bytes: 1e20 }] } });
    expect(e.statusCode).toBe(400);
    expect(await store.stats()).toEqual(before);
    // A store written before the bound: the export leaves the date out instead of failing.
    const old = proc(3, 1e20);
    const read = edge('USED', old, f, 1e20);
    const g = JSON.parse(formatProvJson({ nodes: [old, f], edges: [read] })) as Record<string, Record<string, Record<string, unknown>>>;
    expect(g.activity![`faasprov:${old.id}`]).toMatchObject({ 'faasprov:start': 1e20 });
    expect(g.activity![`faasprov:${old.id}`]).not.toHaveProperty('prov:startTime');
    expect(g.used![`faasprov:${read.id}`]).toMatchObject({ 'faasprov:firstTime': 1e20 });
    expect(g.used![`faasprov:${read.id}`]).not.toHaveProperty('prov:time');
  });
});

describe('fan-in and fan-out', () => {
  const dir = tempDir('fp-fan-');
  let store: SqliteGraphStore;

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    const p = proc(1, 10);
    const files = Array.from({ length: 19999 }, (_, i) => file(`/fan/${i}`, 100 + i));
    await store.applyBatch({ agent: 'fan', seq: 0, nodes: [p, ...files], edges: files.map((x, i) => edge('WAS_GENERATED_BY', x, p, 100 + i)) });
  }, 60000);
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a forward trace from a process that wrote 19,999 files returns 10,000 nodes, truncated', async () => {
    const r = await trace(store, proc(1, 10).id, { direction: 'forward', scope: { all: true } });
    expect(r.truncated).toBe(true);
    expect(r.nodes).toHaveLength(10000);
    expect(r.edges).toHaveLength(9999);
    expect(r.nodes.filter((n) => n.type === 'File')).toHaveLength(9999);
    // Below the cap nothing is cut.
    const small = await trace(store, proc(1, 10).id, { direction: 'forward', scope: { all: true }, maxNodes: 20000 });
    expect([small.truncated, small.nodes.length]).toEqual([false, 20000]);
  }, 60000);
});

describe('rate limits and key files', () => {
  const dir = tempDir('fp-rate-');
  let store: SqliteGraphStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    app = await buildServer({ store, keys: keys(), rateLimitPerMinute: 5, uiDir: false });
  });
  afterAll(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('limits requests without a key and with wrong keys (one budget per address), with a proper code', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const headers = i % 2 === 0 ? {} : { authorization: `Bearer wrong-key-${i}-0123456789abcdef` };
      statuses.push((await app.inject({ url: '/api/v1/nodes', headers })).statusCode);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const r = await app.inject({ url: '/api/v1/nodes' });
    expect(r.statusCode).toBe(429);
    expect(r.json<{ code: string }>().code).toBe('FP_ERR_RATE_LIMITED');
    // Guessing at the ingest route and the admin counts spends the same budget.
    expect((await app.inject({ method: 'POST', url: '/v1/batches', payload: {} })).statusCode).toBe(429);
    expect((await app.inject({ url: '/v1/collector/metrics' })).statusCode).toBe(429);
    // A valid key has its own budget.
    expect((await app.inject({ url: '/api/v1/nodes', headers: { authorization: `Bearer ${KEYS.a}` } })).statusCode).toBe(200);
  });

  it('names the API keys file in its errors', async () => {
    const bad = join(dir, 'keys.json');
    writeFileSync(bad, '[{"name":"x","role":"investigator","tenants":"*","key":"short"}]');
    const r = await faasprov(['up', '--store', join(dir, 'up.db'), '--port', '0', '--api-keys', bad]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`API keys file ${bad}`);
    expect(r.stderr).toContain('FP_ERR_API_KEYS_FILE');
    expect(r.stderr).not.toContain('agent tokens file');
  });
});
