import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SerializedGraph } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { recordedWorkload } from './workload.js';
import { tempDir } from './helpers.js';

const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
const canon = (g: SerializedGraph) => ({
  nodes: byId(g.nodes).map((n) => JSON.stringify(Object.fromEntries(Object.entries(n).sort()))),
  edges: byId(g.edges).map((e) => JSON.stringify(Object.fromEntries(Object.entries(e).sort()))),
});

describe('bulk load into a fresh store', () => {
  const dir = tempDir('fp-load-');
  let applied: SqliteGraphStore;
  let graph: SerializedGraph;
  let neo: Neo4jGraphStore;

  beforeAll(async () => {
    applied = new SqliteGraphStore(join(dir, 'applied.db'));
    for (const b of [...recordedWorkload('node-a:0001', 'node-a'), ...recordedWorkload('node-b:0002', 'node-b')]) await applyBatch(applied, b);
    graph = await applied.all();
    neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await neo.clear();
  }, 120000);

  afterAll(async () => {
    await applied?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores in SQLite what applying the batches stored', async () => {
    expect(graph.nodes.length).toBeGreaterThan(50);
    const s = new SqliteGraphStore(join(dir, 'loaded.db'));
    try {
      await s.load(graph);
      expect(canon(await s.all())).toEqual(canon(graph));
      // The indexes are back: the trace's lookups still seek.
      const plan = (s as unknown as { db: { prepare(q: string): { all(...a: unknown[]): { detail: string }[] } } }).db
        .prepare('EXPLAIN QUERY PLAN SELECT * FROM edges WHERE src = ? AND first_time <= ?').all('x', 1);
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING PRIMARY KEY \(src=\?\)/);
      const back = (s as unknown as { db: { prepare(q: string): { all(...a: unknown[]): { detail: string }[] } } }).db
        .prepare('EXPLAIN QUERY PLAN SELECT * FROM edges WHERE dst = ? AND last_time >= ?').all('x', 1);
      expect(back.map((p) => p.detail).join(' ')).toMatch(/USING INDEX edges_dst/);
    } finally {
      await s.close();
    }
  });

  it('stores in Neo4j what applying the batches stored in SQLite', async () => {
    await neo.load(graph, 7);
    expect(canon(await neo.all())).toEqual(canon(graph));
  });

  it('refuses a store that holds nodes, and a graph with a repeated id, writing nothing', async () => {
    await expect(applied.load(graph)).rejects.toThrow(/FP_ERR_STORE_LOAD|already holds nodes/);
    await expect(neo.load(graph)).rejects.toThrow(/already holds nodes/);
    const s = new SqliteGraphStore(join(dir, 'twice.db'));
    try {
      await expect(s.load({ nodes: [...graph.nodes, graph.nodes[0]!], edges: graph.edges })).rejects.toThrow(/given twice/);
      await expect(s.load({ nodes: graph.nodes.slice(1), edges: graph.edges })).rejects.toThrow(/names a node the graph does not hold/);
      expect((await s.stats()).nodes).toBe(0);
    } finally {
      await s.close();
    }
  });
});
