import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { edgeId, fileId, processId, type Batch, type EdgeType, type GraphEdge, type GraphNode, type SerializedGraph, ALL_TENANTS } from '@faasprov/model';
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
export function* generate(edges: number, perBatch: number): Generator<Batch> {
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

/** The generated batches merged as a store merges them (one row per id), for a bulk load. */
export function merged(edges: number): SerializedGraph {
  const nodes = new Map<string, GraphNode>();
  const es = new Map<string, GraphEdge>();
  for (const b of generate(edges, 5000)) {
    for (const n of b.nodes) nodes.set(n.id, n);
    for (const e of b.edges) {
      const had = es.get(e.id);
      if (!had) es.set(e.id, { ...e });
      else Object.assign(had, { firstTime: Math.min(had.firstTime, e.firstTime), lastTime: Math.max(had.lastTime, e.lastTime), count: had.count + e.count, bytes: had.bytes + e.bytes });
    }
  }
  return { nodes: [...nodes.values()], edges: [...es.values()] };
}

interface TraceTime {
  /** Wall-clock start (ms since the epoch), to line a trace up with the JVM's GC log and Neo4j's debug.log. */
  at: number;
  start: string;
  direction: 'backward' | 'forward';
  ms: number;
  nodes: number;
  edges: number;
  truncated: boolean;
  /** This process's own GC pauses inside the trace (ms). */
  clientGcMs: number;
}

/** This process's GC pauses (performance.now() times), to tell them from the store's time. */
const gcPauses: { start: number; end: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration });
});

function gcWithin(start: number, end: number): number {
  return gcPauses.reduce((a, p) => a + Math.max(0, Math.min(end, p.end) - Math.max(start, p.start)), 0);
}

/** A full collection now: the generated graph (hundreds of MB) must not be collected during measured traces. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Neo4j checkpoints (debug.log) that started between two wall-clock times. */
function checkpointsWithin(home: string, from: number, to: number): number {
  let log = '';
  try {
    log = readFileSync(join(home, 'logs', 'debug.log'), 'utf8');
  } catch {
    return 0;
  }
  return log.split('\n').filter((l) => / Checkpoint triggered by .* checkpoint started/.test(l)).map((l) => Date.parse(l.slice(0, 23).replace(' ', 'T') + 'Z')).filter((t) => t >= from && t <= to).length;
}

async function measure(store: GraphStore, starts: string[]): Promise<{ p50: number; p95: number; nodes: number; traces: TraceTime[] }> {
  const traces: TraceTime[] = [];
  const spans: [number, number][] = [];
  for (const start of starts) {
    for (const direction of ['backward', 'forward'] as const) {
      const at = Date.now();
      const t = performance.now();
      const r = await trace(store, start, { direction, scope: ALL_TENANTS, maxDepth: 6, maxNodes: 10000 });
      const end = performance.now();
      traces.push({ at, start, direction, ms: end - t, nodes: r.nodes.length, edges: r.edges.length, truncated: r.truncated, clientGcMs: 0 });
      spans.push([t, end]);
    }
  }
  // GC entries reach the observer a task later.
  await new Promise((r) => setTimeout(r, 50));
  traces.forEach((x, i) => (x.clientGcMs = gcWithin(...spans[i]!)));
  const times = traces.map((x) => x.ms);
  return { p50: percentile(times, 50), p95: percentile(times, 95), nodes: traces.reduce((a, x) => a + x.nodes, 0) / traces.length, traces };
}

/** Drops a file's pages from the OS page cache (GNU dd: nocache with count=0 drops the whole file). */
function evict(file: string): void {
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
}

/** Reads a file once, so its pages are in the OS page cache. */
function readOnce(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4 << 20);
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/** Mean node count of the slowest 5% of traces: a tail made of the largest traces says "size", not "plan". */
function slowestNodes(traces: TraceTime[]): number {
  const slow = [...traces].sort((a, b) => b.ms - a.ms).slice(0, Math.max(1, Math.round(traces.length / 20)));
  return slow.reduce((a, x) => a + x.nodes, 0) / slow.length;
}

/** Trace latency on a generated graph of a million edges, for each store. */
export const traceLatency: Benchmark = {
  name: 'trace-latency',
  description: 'p50/p95 trace latency (depth 6, at most 10k nodes) on a generated graph of 1,000,000 edges, SQLite vs Neo4j',
  async run(progress): Promise<Record<string, number | string>> {
    const edges = Number(process.env.FAASPROV_BENCH_EDGES ?? 1_000_000);
    const port = process.env.FAASPROV_BENCH_NEO4J_PORT ?? NEO4J_PORT;
    // FAASPROV_BENCH_TRACE_DIR keeps both stores between runs (for experiments: the Neo4j bulk load
    // takes minutes); a run finding them loaded with as many edges measures without loading.
    const kept = process.env.FAASPROV_BENCH_TRACE_DIR;
    const dir = kept ? resolve(kept) : mkdtempSync(join(tmpdir(), 'fp-bench-trace-'));
    const file = join(dir, 's.db');
    const marker = join(dir, `loaded-${edges}`);
    const reuse = kept !== undefined && existsSync(marker);
    if (!reuse) {
      for (const f of [marker, file, join(dir, 'neo4j')]) rmSync(f, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    // A Neo4j of its own in that directory: removed with it, nothing to delete row by row.
    const env = { ...process.env, NEO4J_PASSWORD: process.env.NEO4J_PASSWORD ?? 'faasprov-bench-password', NEO4J_HOME_DIR: join(dir, 'neo4j') };
    process.env.NEO4J_PASSWORD = env.NEO4J_PASSWORD;
    const neoUrl = execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', port], { encoding: 'utf8', env, timeout: 600000 }).trim();
    let sqlite = new SqliteGraphStore(file);
    const neo = (await openGraphStore(neoUrl)) as Neo4jGraphStore;
    try {
      const loads: Record<string, number | string> = { loadPath: 'reused (FAASPROV_BENCH_TRACE_DIR)' };
      if (!reuse) {
        const graph = merged(edges);
        progress(`${graph.nodes.length} nodes, ${graph.edges.length} edges generated; bulk-loading SQLite`);
        let t = performance.now();
        await sqlite.load(graph);
        const sqliteLoad = performance.now() - t;
        progress('bulk-loading Neo4j');
        t = performance.now();
        await neo.load(graph);
        const neoLoad = performance.now() - t;
        Object.assign(loads, { loadPath: 'bulk', sqliteLoadSec: sqliteLoad / 1000, neo4jLoadSec: neoLoad / 1000 });
        if (kept) writeFileSync(marker, '');
      }
      collectGarbage();
      gcObserver.observe({ entryTypes: ['gc'] });
      // The same start nodes for both: processes and files spread over the graph.
      const r = rng(7);
      const sample = await sqlite.searchNodes({ limit: 500, offset: Math.floor(r() * 1000) });
      const starts = sample.filter((_, i) => i % 10 === 0).map((n) => n.id);
      // Cold: the SQLite file out of the OS page cache and a fresh connection (the state of a
      // store not read for a while); every trace then waits for its pages from the disk.
      await sqlite.close();
      evict(file);
      sqlite = new SqliteGraphStore(file);
      const cold = await measure(sqlite, starts);
      // Warm, as a store that has been answering traces for a while is: each store read once whole
      // (SQLite's file into the OS page cache; every Neo4j node and relationship with its properties
      // into Neo4j's page cache, which a restart on a kept store starts empty), then the same 300
      // warm-up traces on both from other start nodes. Neo4j's JVM needs them: its CPU per trace
      // fell from 87-140 ms over the first 100 traces to 12-17 ms after 200 (JIT compilation of
      // the Cypher runtime; the bulk load compiles other code), and 10 warm-up traces left the
      // measured ones inside that curve.
      readOnce(file);
      await neo.readCypher('MATCH (n) RETURN sum(size(keys(n))) AS k', {}, { timeoutMs: 600000 });
      await neo.readCypher('MATCH ()-[r]->() RETURN sum(size(keys(r))) AS k', {}, { timeoutMs: 600000 });
      const others = (await sqlite.searchNodes({ limit: 1500, offset: 2000 })).filter((_, i) => i % 10 === 0).map((n) => n.id);
      await measure(sqlite, others);
      await measure(neo, others);
      const a = await measure(sqlite, starts);
      const b = await measure(neo, starts);
      gcObserver.disconnect();
      const neoFrom = b.traces[0]!.at;
      const neoTo = b.traces.at(-1)!.at + b.traces.at(-1)!.ms;
      progress(`sqlite p50 ${a.p50.toFixed(1)} ms p95 ${a.p95.toFixed(1)} ms (cold ${cold.p50.toFixed(1)} / ${cold.p95.toFixed(1)}); neo4j p50 ${b.p50.toFixed(1)} ms p95 ${b.p95.toFixed(1)} ms`);
      // Per trace, for finding what makes the tail (bench/results/, beside latest.json).
      const out = join(ROOT, 'bench', 'results');
      mkdirSync(out, { recursive: true });
      writeFileSync(
        join(out, 'trace-latency-traces.json'),
        JSON.stringify(a.traces.map((x, i) => ({ ...x, sqliteMs: x.ms, sqliteColdMs: cold.traces[i]!.ms, neo4jMs: b.traces[i]!.ms, neo4jClientGcMs: b.traces[i]!.clientGcMs, neo4jNodes: b.traces[i]!.nodes, neo4jAt: b.traces[i]!.at, ms: undefined })), null, 1),
      );
      return {
        edges,
        traces: starts.length * 2,
        meanNodesPerTrace: a.nodes,
        ...loads,
        sqliteP50Ms: a.p50,
        sqliteP95Ms: a.p95,
        sqliteColdP50Ms: cold.p50,
        sqliteColdP95Ms: cold.p95,
        neo4jP50Ms: b.p50,
        neo4jP95Ms: b.p95,
        neo4jOverSqliteP50: b.p50 / a.p50,
        neo4jCheckpointsDuringTraces: checkpointsWithin(join(dir, 'neo4j'), neoFrom, neoTo),
        clientGcMsDuringNeo4jTraces: b.traces.reduce((x, t) => x + t.clientGcMs, 0),
        meanNodesSlowest5PctSqliteCold: slowestNodes(cold.traces),
        meanNodesSlowest5PctSqlite: slowestNodes(a.traces),
        meanNodesSlowest5PctNeo4j: slowestNodes(b.traces),
      };
    } finally {
      await sqlite.close();
      await neo.close();
      execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', port], { env });
      if (!kept) rmSync(dir, { recursive: true, force: true });
    }
  },
};
