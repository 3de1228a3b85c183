import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TENANTS, invocationId, type GraphEdge, type InvocationNode, type SerializedGraph } from '@faasprov/model';
import { T, scenario, µs } from './span-scenario.js';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { buildServer, invocation, type InvocationView } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const informed = (g: SerializedGraph) =>
  g.edges
    .filter((e: GraphEdge) => e.type === 'WAS_INFORMED_BY' && g.nodes.find((n) => n.id === e.from)?.type === 'Invocation')
    .map((e) => [(g.nodes.find((n) => n.id === e.from) as InvocationNode).callId, (g.nodes.find((n) => n.id === e.to) as InvocationNode).callId, e.count])
    .sort();

describe('stitching invocations through spans (both stores)', () => {
  const dir = tempDir('fp-stitch-');
  let neo: Neo4jGraphStore;
  let n = 0;

  beforeAll(async () => {
    neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
  }, 60000);

  afterAll(async () => {
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['in causal order', (s: ReturnType<typeof scenario>) => [...s.a.slice(0, 2), ...s.b, s.a[2]!]],
    ['callees first (late parents)', (s: ReturnType<typeof scenario>) => [s.a[2]!, ...s.b, s.a[1]!, s.a[0]!]],
  ])('links C → B → A across nodes and agents, %s, and both stores agree', async (_, order) => {
    const results: SerializedGraph[] = [];
    await neo.clear();
    const sqlite = new SqliteGraphStore(join(dir, `s${n++}.db`));
    for (const store of [sqlite, neo] as GraphStore[]) {
      for (const b of order(scenario())) expect((await applyBatch(store, structuredClone(b))).status).toBe('stored');
      results.push(await store.all());
    }
    await sqlite.close();
    for (const g of results) {
      // C was called twice (the retry: two attempts, one link counted twice), B once, A by no one.
      expect(informed(g)).toEqual([['call-B', 'call-A', 1], ['call-C', 'call-B', 2]]);
      const c = g.nodes.find((n) => n.id === invocationId('call-C')) as InvocationNode;
      expect(c).toMatchObject({ appTrigger: 'pubsub', traceId: T });
      expect(g.nodes.filter((n) => n.type === 'Unit' && n.callId === 'call-C')).toHaveLength(2);
      // What the span says next to what the kernel saw, and where they disagree.
      const a = g.nodes.find((n) => n.id === invocationId('call-A')) as InvocationNode;
      expect(a).toMatchObject({ function: 'fn-call-A', appFunction: 'fn-call-A', appTrigger: 'http', appColdStart: true, appStatus: 'ok', spanId: 'a000000000000001' });
      expect(a.contradictions).toBeUndefined();
      const b = g.nodes.find((n) => n.id === invocationId('call-B')) as InvocationNode;
      expect(b.contradictions).toEqual(['function: the span says "not-what-runs", the instance runs "fn-call-B"']);
    }
    // The invocation view: attempts with their activity, both layers, callers, callees, the chain.
    const views: InvocationView[] = [];
    const sqlite2 = new SqliteGraphStore(join(dir, `s${n - 1}.db`));
    for (const store of [sqlite2, neo] as GraphStore[]) {
      const v = await invocation(store, 'call-C', { scope: ALL_TENANTS });
      expect(v.attempts.map((a) => [a.attempt, (a.unit as { pid: number }).pid, a.activity.filter((e) => e.object.type === 'File').map((e) => [e.action, (e.object as { path?: string }).path])])).toEqual([
        [1, 30, [['WAS_GENERATED_BY', '/tmp/call-C-30']]],
        [2, 31, [['WAS_GENERATED_BY', '/tmp/call-C-31']]],
      ]);
      expect(v.spans.map((x) => (x as { spanId: string }).spanId)).toEqual(['c000000000000001', 'c000000000000002']);
      expect(v.calledBy.map((l) => [(l.invocation as InvocationNode).callId, l.count, l.inferred])).toEqual([['call-B', 2, false]]);
      expect(v.called).toEqual([]);
      expect(v.chain.invocations.map((x) => (x as InvocationNode).callId)).toEqual(['call-A', 'call-B', 'call-C']);
      expect(v.chain.links).toHaveLength(2);
      const b = await invocation(store, 'call-B', { scope: ALL_TENANTS });
      expect(b.facts).toEqual([expect.objectContaining({
        kernel: { start: µs(2_000_000), end: µs(8_000_000), function: 'fn-call-B', units: 1 },
        app: expect.objectContaining({ function: 'not-what-runs', traceId: T, spanId: 'b000000000000001' }),
        contradictions: [expect.stringMatching(/^function: /)],
      })]);
      expect([b.calledBy.map((l) => (l.invocation as InvocationNode).callId), b.called.map((l) => (l.invocation as InvocationNode).callId)]).toEqual([['call-A'], ['call-C']]);
      views.push(v);
    }
    expect(JSON.parse(JSON.stringify(views[1]))).toEqual(JSON.parse(JSON.stringify(views[0])));
    const app = await buildServer({ store: sqlite2, collector: false, uiDir: false });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/invocations/call-C' });
      expect(r.statusCode).toBe(200);
      expect((r.json() as InvocationView).chain.invocations).toHaveLength(3);
    } finally {
      await app.close();
      await sqlite2.close();
    }
    const strip = (g: SerializedGraph) => ({ nodes: g.nodes.map((n) => JSON.stringify(n, Object.keys(n).sort())).sort(), edges: g.edges.map((e) => JSON.stringify(e, Object.keys(e).sort())).sort() });
    expect(strip(results[1]!)).toEqual(strip(results[0]!));
  }, 120000);
});
