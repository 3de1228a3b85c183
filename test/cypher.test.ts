import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { fileId, processId, edgeId, type GraphNode } from '@faasprov/model';
import { Neo4jGraphStore, openGraphStore } from '@faasprov/store';
import { ApiKeys, applyBatch } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';

const KEYS = { admin: 'key-admin-0123456789abcdef012', scoped: 'key-scoped-admin-0123456789abc', reader: 'key-reader-0123456789abcdef01' };

/** The admin Cypher route on the real Neo4j: checked with EXPLAIN before it runs. */
describe('Cypher route (admins, Neo4j)', () => {
  let store: Neo4jGraphStore;
  let app: FastifyInstance;
  let web: Server;
  let webUrl: string;
  let fetched = 0;

  beforeAll(async () => {
    store = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await store.clear();
    const p: GraphNode = { id: processId('n', 1, 10), type: 'Process', node: 'n', pid: 1, start: 10, exe: '/bin/a', argv: ['a'], tenant: 'team-a' };
    const f: GraphNode = { id: fileId('n', '/x', 20), type: 'File', node: 'n', path: '/x', version: 20, tenant: 'team-a' };
    await applyBatch(store, { agent: 'n:cy', seq: 0, nodes: [p, f], edges: [{ id: edgeId('WAS_GENERATED_BY', f.id, p.id), type: 'WAS_GENERATED_BY', from: f.id, to: p.id, firstTime: 20, lastTime: 20, count: 1, bytes: 1 }] });
    const keys = new ApiKeys([
      { name: 'root', role: 'admin', tenants: '*', key: KEYS.admin },
      { name: 'a-admin', role: 'admin', tenants: ['team-a'], key: KEYS.scoped },
      { name: 'reader', role: 'investigator', tenants: '*', key: KEYS.reader },
    ]);
    app = await buildServer({ store, keys, uiDir: false, cypher: { timeoutMs: 3000, maxBytes: 256 * 1024 } });
    // A URL Neo4j would fetch if LOAD CSV ran (SSRF): it must never be asked.
    web = createServer((_req, res) => {
      fetched++;
      res.end('a,b\n');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}/x.csv`;
  }, 120000);
  afterAll(async () => {
    await app.close();
    await store.close();
    await new Promise((r) => web.close(r));
  });

  const post = async (query: string, key = KEYS.admin, params?: Record<string, unknown>) => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/cypher', headers: { authorization: `Bearer ${key}` }, payload: { query, ...(params ? { params } : {}) } });
    return { status: r.statusCode, body: r.json<{ code?: string; message?: string; rows?: unknown[]; truncated?: boolean; truncatedBy?: string }>(), bytes: r.rawPayload.length };
  };

  it.each([
    ["LOAD CSV FROM 'file:///etc/shadow' AS l RETURN l", /LoadCSV/],
    ["LOAD CSV FROM 'file:///proc/self/cmdline' AS l RETURN l", /LoadCSV/],
    ['SHOW USERS', /type s/],
    ['SHOW SETTINGS YIELD name, value RETURN name, value', /ShowSettings/],
    ['CALL dbms.listConfig() YIELD name, value RETURN name, value', /type s|dbms.listConfig/],
    ['CALL dbms.components()', /type s|dbms.components/],
    ['SHOW TRANSACTIONS', /ShowTransactions/],
    ["TERMINATE TRANSACTIONS 'neo4j-transaction-1'", /TerminateTransactions/],
    ['MATCH (n) DETACH DELETE n', /type w/],
    ['CREATE (n:Evil) RETURN n', /type rw/],
    ['MATCH (n:Node) CALL { WITH n RETURN n.id AS i } IN TRANSACTIONS RETURN i', /TransactionApply/],
    ['SHOW DATABASES', /type s/],
  ])('refuses %s before it runs', async (query, why) => {
    const r = await post(query);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('FP_ERR_CYPHER_REFUSED');
    expect(r.body.message).toMatch(why);
    expect((await store.stats()).nodes).toBe(2);
  });

  it('never makes Neo4j fetch a URL (LOAD CSV over http)', async () => {
    const r = await post(`LOAD CSV FROM '${webUrl}' AS l RETURN l`);
    expect(r.status).toBe(403);
    const p = await post('LOAD CSV FROM $u AS l RETURN l', KEYS.admin, { u: webUrl });
    expect(p.status).toBe(403);
    expect(fetched).toBe(0);
  });

  it('refuses tenant-scoped admins and investigators', async () => {
    const scoped = await post('MATCH (n:Node) RETURN n.tenant AS t', KEYS.scoped);
    expect([scoped.status, scoped.body.code]).toEqual([403, 'FP_ERR_CYPHER_REFUSED']);
    expect((await post('MATCH (n:Node) RETURN n', KEYS.reader)).status).toBe(403);
  });

  it('runs allowed reads and procedures', async () => {
    expect((await post('MATCH (n:Node) RETURN count(n) AS n')).body).toEqual({ rows: [{ n: 2 }], truncated: false });
    const path = await post('MATCH (f:File)-[r:WAS_GENERATED_BY]->(p:Process) WHERE f.path = $p RETURN p.exe AS exe, type(r) AS t', KEYS.admin, { p: '/x' });
    expect(path.body.rows).toEqual([{ exe: '/bin/a', t: 'WAS_GENERATED_BY' }]);
    const labels = await post('CALL db.labels() YIELD label RETURN label ORDER BY label');
    expect(labels.status).toBe(200);
    expect(labels.body.rows).toEqual(expect.arrayContaining([{ label: 'Node' }, { label: 'Process' }]));
    expect((await post('MATCH p = shortestPath((a:File)-[*..5]-(b:Process)) RETURN length(p) AS n')).body.rows).toEqual([{ n: 1 }]);
    const many = await post('UNWIND range(1, 5000) AS x RETURN x');
    expect([many.body.rows?.length, many.body.truncated, many.body.truncatedBy]).toEqual([1000, true, 'rows']);
  });

  it("runs Neo4j's namespaced functions and names the function it does not know", async () => {
    // The policy refuses every other namespace (apoc.*, db.*, dbms.*, graph.*, user-defined:
    // cypher-policy.test.ts); this Neo4j has no plug-in, so its planner refuses those first.
    const ok = await post('RETURN datetime.fromepochmillis(0).year AS y, point.distance(point({x: 0, y: 0}), point({x: 3, y: 4})) AS d, duration.between(date("2026-01-01"), date("2026-01-31")).days AS days');
    expect([ok.status, ok.body.rows]).toEqual([200, [{ y: 1970, d: 5, days: 30 }]]);
    for (const fn of ['apoc.text.join([$a], ",")', 'dbms.components()', 'db.nameFromElementId("4:x:1")']) {
      const r = await post(`RETURN ${fn} AS x`, KEYS.admin, { a: 'x' });
      expect([r.status, r.body.code]).toEqual([400, 'FP_ERR_BAD_REQUEST']);
      expect(r.body.message).toContain(`Unknown function '${fn.split('(')[0]}'`);
    }
  });

  it('caps the answer in bytes as well as rows', async () => {
    // 1,000 rows of 20,000 integers would be over 100 MB.
    const r = await post('UNWIND range(1, 1000) AS x RETURN range(1, 20000) AS r');
    expect(r.status).toBe(200);
    expect([r.body.truncated, r.body.truncatedBy]).toEqual([true, 'bytes']);
    expect(r.bytes).toBeLessThan(256 * 1024 + 4096);
    const one = await post('RETURN range(1, 200000) AS r');
    expect([one.status, one.body.code]).toEqual([413, 'FP_ERR_CYPHER_TOO_LARGE']);
  });

  it('terminates a query at its timeout, on the server', async () => {
    const t0 = Date.now();
    const r = await post('UNWIND range(1, 2000000000) AS x WITH x WHERE x < 0 RETURN x');
    const took = Date.now() - t0;
    expect([r.status, r.body.code]).toEqual([408, 'FP_ERR_CYPHER_TIMEOUT']);
    // 3 s timeout; the client deadline is 2 s after it.
    expect(took).toBeLessThan(8000);
    expect((await post('MATCH (n:Node) RETURN count(n) AS n')).status).toBe(200);
  }, 30000);
});
