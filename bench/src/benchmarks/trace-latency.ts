import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { edgeId, fileId, processId, type Batch, type EdgeType, type GraphEdge, type GraphNode, ALL_TENANTS } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { trace } from '@faasprov/graph-service';
import type { Benchmark } from './index.js';
import { percentile } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const NEO4J_PORT = '27687';

/** A deterministic pseudo-random sequence, so both stores get the same graph. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A provenance-shaped graph: processes forked from earlier ones, each reading a few files (often
 * popular ones, like libraries) and writing new versions that later processes read.
 */
function* generate(edges: number, perBatch: number): Generator<Batch> {
  const r = rng(42);
  const procs = Math.floor(edges / 20);
  const files = Math.floor(edges / 5);
  const P = (i: number): GraphNode => ({ id: processId('bench', i, i * 10), type: 'Process', node: 'bench', pid: i % 4000000, start: i * 10, exe: `/bin/w${i % 97}`, argv: [`w${i % 97}`] });
  const F = (i: number): GraphNode => ({ id: fileId('bench', `/data/f${i}`, 0), type: 'File', node: 'bench', path: `/data/f${i}`, version: 0 });
  let seq = 0;
  let made = 0;
  while (made < edges) {
    const nodes = new Map<string, GraphNode>();
    const es = new Map<string, GraphEdge>();
    while (es.size < perBatch && made + es.size < edges) {
      const p = Math.floor(r() * procs);
      const proc = P(p);
      const t = p * 10 + Math.floor(r() * 1000);
      const k = r();
      let type: EdgeType;
      let a: GraphNode;
      let b: GraphNode;
      if (k < 0.05 && p > 0) [type, a, b] = ['WAS_INFORMED_BY', proc, P(Math.floor(r() * p))];
      else if (k < 0.7) [type, a, b] = ['USED', proc, F(r() < 0.3 ? Math.floor(r() * 100) : Math.floor(r() * files))];
      else [type, a, b] = ['WAS_GENERATED_BY', F(Math.floor(r() * files)), proc];
      const id = edgeId(type, a.id, b.id);
      if (es.has(id)) continue;
      nodes.set(a.id, a);
      nodes.set(b.id, b);
      es.set(id, { id, type, from: a.id, to: b.id, firstTime: t, lastTime: t + 5, count: 1, bytes: 100 });
    }
    made += es.size;
    yield { agent: 'bench-graph', seq: seq++, nodes: [...nodes.values()], edges: [...es.values()] };
  }
}

async function load(store: GraphStore, edges: number, progress: (m: string) => void, name: string): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for (const b of generate(edges, 5000)) {
    await store.applyBatch(b);
    n += b.edges.length;
    if (b.seq % 40 === 0) progress(`${name}: ${n} edges loaded`);
  }
  return performance.now() - t0;
}

async function measure(store: GraphStore, starts: string[]): Promise<{ p50: number; p95: number; nodes: number }> {
  const times: number[] = [];
  let nodes = 0;
  for (const id of starts) {
    for (const direction of ['backward', 'forward'] as const) {
      const t = performance.now();
      const r = await trace(store, id, { direction, scope: ALL_TENANTS, maxDepth: 6, maxNodes: 10000 });
      times.push(performance.now() - t);
      nodes += r.nodes.length;
    }
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), nodes: nodes / times.length };
}

/** Trace latency on a generated graph of a million edges, for each store. */
export const traceLatency: Benchmark = {
  name: 'trace-latency',
  description: 'p50/p95 trace latency (depth 6, at most 10k nodes) on a generated graph of 1,000,000 edges, SQLite vs Neo4j',
  async run(progress): Promise<Record<string, number | string>> {
    const edges = Number(process.env.FAASPROV_BENCH_EDGES ?? 1_000_000);
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-trace-'));
    const env = { ...process.env, NEO4J_PASSWORD: process.env.NEO4J_PASSWORD ?? 'faasprov-bench-password' };
    process.env.NEO4J_PASSWORD = env.NEO4J_PASSWORD;
    const neoUrl = execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', NEO4J_PORT], { encoding: 'utf8', env, timeout: 600000 }).trim();
    const sqlite = new SqliteGraphStore(join(dir, 's.db'));
    const neo = (await openGraphStore(neoUrl)) as Neo4jGraphStore;
    try {
      await neo.clear();
      const sqliteLoad = await load(sqlite, edges, progress, 'sqlite');
      const neoLoad = await load(neo, edges, progress, 'neo4j');
      // The same start nodes for both: processes and files spread over the graph.
      const r = rng(7);
      const sample = await sqlite.searchNodes({ limit: 500, offset: Math.floor(r() * 1000) });
      const starts = sample.filter((_, i) => i % 10 === 0).map((n) => n.id);
      await measure(neo, starts.slice(0, 5)); // warm-up
      const a = await measure(sqlite, starts);
      const b = await measure(neo, starts);
      progress(`sqlite p50 ${a.p50.toFixed(1)} ms p95 ${a.p95.toFixed(1)} ms; neo4j p50 ${b.p50.toFixed(1)} ms p95 ${b.p95.toFixed(1)} ms`);
      return {
        edges,
        traces: starts.length * 2,
        meanNodesPerTrace: a.nodes,
        sqliteLoadSec: sqliteLoad / 1000,
        neo4jLoadSec: neoLoad / 1000,
        sqliteP50Ms: a.p50,
        sqliteP95Ms: a.p95,
        neo4jP50Ms: b.p50,
        neo4jP95Ms: b.p95,
        neo4jOverSqliteP50: b.p50 / a.p50,
      };
    } finally {
      await sqlite.close();
      await neo.clear().catch(() => undefined);
      await neo.close();
      execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', NEO4J_PORT], { env });
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
