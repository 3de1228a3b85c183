import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TENANTS, type EdgeType, type GraphNode, type SerializedGraph } from '@faasprov/model';
import { recordedWorkload } from './workload.js';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type ExpandStep, type GraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { trace } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
const canon = (g: SerializedGraph) => ({
  nodes: byId(g.nodes).map((n) => JSON.stringify(Object.fromEntries(Object.entries(n).sort()))),
  edges: byId(g.edges),
});

describe('store conformance: the embedded store and Neo4j answer identically', () => {
  const dir = tempDir('fp-conf-');
  let sqlite: GraphStore;
  let neo: GraphStore;
  const workload = [...recordedWorkload('node-a:0001', 'node-a'), ...recordedWorkload('node-b:0002', 'node-b')];

  beforeAll(async () => {
    sqlite = new SqliteGraphStore(join(dir, 's.db'));
    neo = await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    await (neo as Neo4jGraphStore).clear();
    for (const store of [sqlite, neo]) {
      for (const b of workload) await applyBatch(store, b);
      // Resent batches (a restart, a redelivery) change nothing.
      for (const b of workload.slice(0, 5)) expect((await applyBatch(store, b)).status).toBe('duplicate');
    }
  }, 300000);

  afterAll(async () => {
    await sqlite?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the same nodes and edges, integers as integers', async () => {
    const [a, b] = [await sqlite.all(), await neo.all()];
    expect(a.nodes.length).toBeGreaterThan(50);
    expect(canon(b)).toEqual(canon(a));
    const rows = await (neo as Neo4jGraphStore).readCypher('MATCH (p:Process) RETURN valueType(p.start) AS t LIMIT 1');
    expect(rows[0]!.t).toBe('INTEGER NOT NULL');
  });

  it('counts the same', async () => {
    expect(await neo.stats()).toEqual(await sqlite.stats());
  });

  it('answers every trace the same, both directions', async () => {
    const { nodes } = await sqlite.all();
    const starts = nodes.filter((n: GraphNode) => n.type === 'File' || n.type === 'Process').slice(0, 40);
    for (const n of starts) {
      for (const direction of ['backward', 'forward'] as const) {
        const [x, y] = [await trace(sqlite, n.id, { direction, scope: ALL_TENANTS }), await trace(neo, n.id, { direction, scope: ALL_TENANTS })];
        expect(canon(y)).toEqual(canon(x));
        expect(y.truncated).toBe(x.truncated);
      }
    }
  });

  it('expands with a filter exactly as the whole expansion filtered, the same in both stores', async () => {
    const { nodes } = await sqlite.all();
    const typeOf = new Map(nodes.map((n) => [n.id, n.type]));
    const key = (s: ExpandStep) => `${s.via} ${s.edge.id} ${s.neighbor}`;
    const of = (type: string, bound: number) => nodes.filter((n) => n.type === type).map((n) => ({ id: n.id, bound }));
    const asks = [
      { frontier: of('File', 0), direction: 'forward' as const, only: { edge: 'USED' as const, neighbor: 'Process' as const } },
      { frontier: of('Process', 0), direction: 'forward' as const, only: { neighbor: 'Process' as const } },
      { frontier: of('Process', Number.MAX_SAFE_INTEGER), direction: 'backward' as const, only: { edge: 'USED' as const } },
      { frontier: of('Process', Number.MAX_SAFE_INTEGER), direction: 'backward' as const, only: { edge: 'WAS_INFORMED_BY' as const, neighbor: 'Process' as const } },
    ];
    for (const { frontier, direction, only } of asks) {
      const all = await sqlite.expand(frontier, direction);
      const whole = all.filter((s) => ('edge' in only ? s.edge.type === only.edge : true) && ('neighbor' in only ? typeOf.get(s.neighbor) === only.neighbor : true));
      // Each filter keeps some steps and leaves some out.
      expect(whole.length).toBeGreaterThan(0);
      expect(whole.length).toBeLessThan(all.length);
      for (const store of [sqlite, neo]) {
        const got = await store.expand(frontier, direction, only);
        expect(got.map(key).sort()).toEqual(whole.map(key).sort());
        const first = got.find((s) => key(s) === key(whole[0]!));
        expect(first).toEqual(whole[0]);
      }
    }
    for (const store of [sqlite, neo]) {
      await expect(store.expand(of('Process', 0), 'forward', { edge: 'NOT_AN_EDGE' as EdgeType })).rejects.toThrow(/cannot expand over edge type/);
    }
  });

  it('finds the same nodes, page by page', async () => {
    const queries = [
      { type: 'File', limit: 10, offset: 0 },
      { type: 'File', limit: 10, offset: 10 },
      { text: 'HOSTNAME', limit: 50, offset: 0 },
      { text: '127.0.0.1', limit: 50, offset: 0 },
      { type: 'Process', since: 0, until: Number.MAX_SAFE_INTEGER, limit: 100, offset: 0 },
      { text: "x' OR 1=1 --", limit: 50, offset: 0 },
    ];
    for (const q of queries) {
      const [a, b] = [await sqlite.searchNodes(q), await neo.searchNodes(q)];
      expect(b.map((n) => n.id)).toEqual(a.map((n) => n.id));
    }
    expect((await sqlite.searchNodes({ text: 'hostname', limit: 50, offset: 0 })).some((n) => n.type === 'File')).toBe(true);
    expect(await sqlite.searchNodes({ text: "x' OR 1=1 --", limit: 50, offset: 0 })).toEqual([]);
  });

  it('knows the same batches and chains', async () => {
    for (const agent of ['node-a:0001', 'node-b:0002']) {
      expect(await neo.batchInfo(agent)).toEqual(await sqlite.batchInfo(agent));
      expect(await neo.batchInfo(agent, 3)).toEqual(await sqlite.batchInfo(agent, 3));
    }
    expect(await neo.batchInfo('nobody')).toBeUndefined();
  });

  it('runs read-only Cypher and refuses writes', async () => {
    const s = neo as Neo4jGraphStore;
    expect((await s.readCypher('MATCH (f:File) RETURN count(f) AS n'))[0]!.n).toBeGreaterThan(0);
    await expect(s.readCypher('MATCH (n) DETACH DELETE n')).rejects.toThrow(/read|write|access/i);
  });
});

describe('opening Neo4j', () => {
  it('gives one clear error when Neo4j is unreachable', async () => {
    await expect(openGraphStore('bolt://127.0.0.1:1')).rejects.toMatchObject({ code: 'FP_ERR_NEO4J_UNREACHABLE' });
  });
  it('gives one clear error for wrong credentials', async () => {
    const u = new URL(process.env.FAASPROV_TEST_NEO4J!);
    // Not the real user: Neo4j locks a user for a while after failed logins, which would
    // lock the other suites out.
    u.username = 'faasprov-intruder';
    u.password = 'not-the-password';
    await expect(openGraphStore(u.toString())).rejects.toMatchObject({ code: 'FP_ERR_NEO4J_AUTH' });
  });
});

describe('faasprov with an unusable Neo4j', () => {
  it('says what is wrong in one line, without a stack trace', async () => {
    const { faasprov } = await import('./helpers.js');
    const r = await faasprov(['trace', 'p_00000000000000000000000000000000', '--backward', '--store', 'bolt://127.0.0.1:1']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('FP_ERR_NEO4J_UNREACHABLE');
    const u = new URL(process.env.FAASPROV_TEST_NEO4J!);
    // Not the real user: Neo4j locks a user for a while after failed logins, which would
    // lock the other suites out.
    u.username = 'faasprov-intruder';
    u.password = 'wrong-password';
    const bad = await faasprov(['up', '--store', u.toString(), '--port', '0', '--no-auth']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('FP_ERR_NEO4J_AUTH');
    expect(bad.stderr).not.toContain('wrong-password');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
