import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALL_TENANTS, edgeId, fileId, invocationId, processId, unitId,
  type EdgeType, type GraphEdge, type GraphNode, type TenantScope,
} from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore } from '@faasprov/store';
import { trace, type TraceOptions, type TraceResult } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

/**
 * A graph with every feature a walk must get right: a fork chain 40 deep (deeper than one Neo4j
 * query unrolls), files written and read at many times (bounds that improve), two tenants and
 * untenanted processes (boundaries), invocations with units (PART_OF crossed both ways).
 */
function graph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const tenant = (i: number) => (i % 3 === 0 ? { tenant: 't1' } : i % 3 === 1 ? { tenant: 't2' } : {});
  const P = Array.from({ length: 40 }, (_, i): GraphNode => ({ id: processId('n', 100 + i, i * 10), type: 'Process', node: 'n', pid: 100 + i, start: i * 10, exe: `/bin/p${i}`, argv: [], ...tenant(i) }));
  const F = Array.from({ length: 20 }, (_, i): GraphNode => ({ id: fileId('n', `/f${i}`, 0), type: 'File', node: 'n', path: `/f${i}`, version: 0 }));
  const I = Array.from({ length: 5 }, (_, k): GraphNode => ({ id: invocationId(`c${k}`), type: 'Invocation', callId: `c${k}`, start: k * 80, end: k * 80 + 60, source: 'shim', tenant: 't1' }));
  const U = Array.from({ length: 5 }, (_, k): GraphNode => ({ id: unitId('n', 500 + k, 1, `c${k}`, k * 80), type: 'Unit', node: 'n', pid: 500 + k, processStart: 1, callId: `c${k}`, start: k * 80, tenant: 't1' }));
  const edges = new Map<string, GraphEdge>();
  const edge = (type: EdgeType, from: GraphNode, to: GraphNode, t: number, span = 2) =>
    edges.set(edgeId(type, from.id, to.id), { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t + span, count: 1, bytes: 10 });
  P.forEach((p, i) => {
    if (i > 0) edge('WAS_INFORMED_BY', p, P[i - 1]!, i * 10);
    edge('USED', p, F[(i * 7) % 20]!, i * 10 + 3, 30);
    edge('WAS_GENERATED_BY', F[(i * 3 + 1) % 20]!, p, i * 10 + 5);
  });
  U.forEach((u, k) => {
    edge('PART_OF', u, I[k]!, k * 80, 60);
    edge('USED', u, F[(k * 5) % 20]!, k * 80 + 10);
    edge('WAS_GENERATED_BY', F[(k * 5 + 2) % 20]!, u, k * 80 + 20);
    if (k > 0) edge('WAS_INFORMED_BY', I[k]!, I[k - 1]!, k * 80 + 1);
  });
  return { nodes: [...P, ...F, ...I, ...U], edges: [...edges.values()] };
}

const sorted = (xs: string[]) => [...xs].sort();
const canon = (t: TraceResult) => ({
  nodes: sorted(t.nodes.map((n) => JSON.stringify(Object.fromEntries(Object.entries(n).sort())))),
  edges: sorted(t.edges.map((e) => JSON.stringify(e))),
  ends: sorted(t.ends),
  truncated: t.truncated,
});
/** The trace, or the error it gave. */
const attempt = (p: Promise<TraceResult>) => p.then(canon, (err: Error) => ({ error: err.message }));

/** The same graph in a SQLite store and in the test Neo4j, for the suite that declares it. */
function bothStores(prefix: string, agent: string, content: () => { nodes: GraphNode[]; edges: GraphEdge[] }) {
  const dir = tempDir(prefix);
  const stores = {} as { sqlite: SqliteGraphStore; neo: Neo4jGraphStore };
  beforeAll(async () => {
    stores.sqlite = new SqliteGraphStore(join(dir, 's.db'));
    stores.neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await stores.neo.clear();
    for (const st of [stores.sqlite, stores.neo]) await st.applyBatch({ agent, seq: 0, ...content() });
  }, 120000);
  afterAll(async () => {
    await stores.sqlite?.close();
    await stores.neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return stores;
}

describe("Neo4j's one-query trace answers as the walk over expand", () => {
  const g = graph();
  const stores = bothStores('fp-walk-', 'walk', () => g);

  const t1: TenantScope = { all: false, tenants: new Set(['t1']) };
  const t2: TenantScope = { all: false, tenants: new Set(['t2']) };
  const cases: [string, Omit<TraceOptions, 'direction'>][] = [
    ['defaults', { scope: ALL_TENANTS }],
    ['depth 0', { scope: ALL_TENANTS, maxDepth: 0 }],
    ['depth 1', { scope: ALL_TENANTS, maxDepth: 1 }],
    ['depth 9 (two queries)', { scope: ALL_TENANTS, maxDepth: 9 }],
    ['depth 20 (three queries)', { scope: ALL_TENANTS, maxDepth: 20 }],
    ['window', { scope: ALL_TENANTS, since: 100, until: 250 }],
    ['tenant t1', { scope: t1 }],
    ['tenant t2, depth 3', { scope: t2, maxDepth: 3 }],
  ];

  it('gives the same nodes, edges, ends, truncation and errors, for every option', async () => {
    let compared = 0;
    let deep = 0;
    for (const start of g.nodes.filter((_, i) => i % 2 === 0)) {
      for (const direction of ['backward', 'forward'] as const) {
        for (const [name, o] of cases) {
          const [a, b] = [await attempt(trace(stores.sqlite, start.id, { ...o, direction })), await attempt(trace(stores.neo, start.id, { ...o, direction }))];
          expect([name, direction, start.id, b]).toEqual([name, direction, start.id, a]);
          compared++;
          if ('nodes' in a && a.nodes.length > 12 && !a.truncated) deep++;
        }
      }
    }
    expect(compared).toBe(Math.ceil(g.nodes.length / 2) * 2 * cases.length);
    // Not only trivial traces: many reach far without being cut.
    expect(deep).toBeGreaterThan(20);
  }, 300000);

  it('never calls expand: the whole trace is Neo4j queries', async () => {
    const expand = stores.neo.expand.bind(stores.neo);
    let calls = 0;
    stores.neo.expand = async (...args) => {
      calls++;
      return expand(...args);
    };
    try {
      const last = g.nodes[39]!;
      const t = await trace(stores.neo, last.id, { direction: 'backward', scope: ALL_TENANTS });
      expect(t.nodes.length).toBeGreaterThan(40);
      expect(calls).toBe(0);
    } finally {
      stores.neo.expand = expand;
    }
  });

  it('stops at maxNodes in both stores, keeping nodes of the full trace and only edges between kept nodes', async () => {
    const start = g.nodes[39]!.id;
    const full = await trace(stores.sqlite, start, { direction: 'backward', scope: ALL_TENANTS });
    expect(full.truncated).toBe(false);
    for (const st of [stores.sqlite, stores.neo]) {
      const t = await trace(st, start, { direction: 'backward', scope: ALL_TENANTS, maxNodes: 10 });
      expect(t.truncated).toBe(true);
      expect(t.nodes).toHaveLength(10);
      const ids = new Set(t.nodes.map((n) => n.id));
      expect([...ids].every((id) => full.nodes.some((n) => n.id === id))).toBe(true);
      expect(t.edges.every((e) => ids.has(e.from) && ids.has(e.to))).toBe(true);
    }
  });
});

/**
 * A trace wider than one result record holds (RESULT_GROUP items): a fork chain 7 deep, then a
 * process that read 450 files, each written by a process of its own. From the chain's top, depth 8
 * ends with 450 nodes still to expand (the front the next query takes), and depth 9 reaches 908.
 */
describe("Neo4j's trace split over several result records", () => {
  const W = 450;
  const chain = Array.from({ length: 8 }, (_, i): GraphNode => ({ id: processId('w', 10 + i, i), type: 'Process', node: 'w', pid: 10 + i, start: i, exe: '/bin/c', argv: [] }));
  const files = Array.from({ length: W }, (_, i): GraphNode => ({ id: fileId('w', `/wide/f${i}`, 0), type: 'File', node: 'w', path: `/wide/f${i}`, version: 0 }));
  const writers = Array.from({ length: W }, (_, i): GraphNode => ({ id: processId('w', 1000 + i, 0), type: 'Process', node: 'w', pid: 1000 + i, start: 0, exe: '/bin/w', argv: [`w${i}`] }));
  const edges: GraphEdge[] = [];
  const edge = (type: EdgeType, from: GraphNode, to: GraphNode, t: number) =>
    edges.push({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t + 1, count: 1, bytes: 10 });
  chain.forEach((p, i) => i > 0 && edge('WAS_INFORMED_BY', p, chain[i - 1]!, 900 + i));
  files.forEach((f, i) => {
    edge('USED', chain[0]!, f, 100 + i);
    edge('WAS_GENERATED_BY', f, writers[i]!, 50);
  });
  const stores = bothStores('fp-walk-wide-', 'wide', () => ({ nodes: [...chain, ...files, ...writers], edges }));

  it('gives every node and edge, and the front the next query expands, as the walk over expand does', async () => {
    const top = chain[7]!.id;
    for (const [maxDepth, nodes, truncated] of [[8, 8 + W, true], [9, 8 + 2 * W, true], [10, 8 + 2 * W, false]] as const) {
      const [a, b] = [await attempt(trace(stores.sqlite, top, { direction: 'backward', scope: ALL_TENANTS, maxDepth })), await attempt(trace(stores.neo, top, { direction: 'backward', scope: ALL_TENANTS, maxDepth }))];
      expect(b).toEqual(a);
      expect('nodes' in b && [b.nodes.length, b.truncated]).toEqual([nodes, truncated]);
    }
    // Forward from one writer: its file, the reader, and up the chain.
    const [a, b] = [await attempt(trace(stores.sqlite, writers[3]!.id, { direction: 'forward', scope: ALL_TENANTS })), await attempt(trace(stores.neo, writers[3]!.id, { direction: 'forward', scope: ALL_TENANTS }))];
    expect(b).toEqual(a);
  }, 120000);
});
