import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TENANTS, GENESIS_HASH, invocationId, type Batch, type GraphEdge, type InvocationNode, type SerializedGraph } from '@faasprov/model';
import { AppLayer, GraphBuffer, Observer, parseLine, type SpanRecord } from '@faasprov/agent';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { buildServer, invocation, type InvocationView } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const T = 'aa'.repeat(16);
const NS = 1_700_000_000_000_000_000n; // kernel ns + offset: µs near 1.7e15

/** One agent: the real observer (markers → units) and the real app layer (spans → Span nodes). */
class FakeNode {
  readonly buf = new GraphBuffer(false);
  readonly obs: Observer;
  readonly app: AppLayer;
  private seq = 0;
  private prev = GENESIS_HASH;
  constructor(readonly node: string, readonly agent: string) {
    this.obs = new Observer({ node, agent, clockOffsetNs: NS, rootCwd: '/' }, this.buf);
    this.app = new AppLayer({ node, waitMs: 0 }, this.obs, this.buf);
  }
  /** A process serving one invocation: begin and end markers on its main thread. */
  serve(pid: number, callId: string, fromNs: number, toNs: number): void {
    for (const l of [
      `X\t${fromNs - 100}\t${pid}\t1\t1\t0\t0\t/usr/bin/python3`,
      `O\t${fromNs - 50}\t${pid}\t3\t1\t-100\t/dev/null`,
      `m\t${fromNs}\t${pid}\t${pid}\tfaasprov:B:${callId} fn-${callId}`,
      `O\t${fromNs + 10}\t${pid}\t4\t65\t-100\t/tmp/${callId}-${pid}`,
      `W\t${fromNs + 20}\t${pid}/${pid}\t1\t4\t3`,
      `m\t${toNs}\t${pid}\t${pid}\tfaasprov:E:${callId}`,
    ]) this.obs.handle(parseLine(l));
  }
  spans(...s: SpanRecord[]): void {
    this.app.accept(s);
    this.app.drain();
  }
  cut(): Batch {
    const b = this.buf.cut(this.agent, this.seq++, this.prev);
    this.prev = b.hash!;
    return b;
  }
}

const µs = (ns: number) => Number((NS + BigInt(ns)) / 1000n);
function span(spanId: string, kind: SpanRecord['kind'], startNs: number, parent?: string, callId?: string, extra: Record<string, string | boolean> = {}): SpanRecord {
  const attrs = new Map<string, string | number | boolean>(Object.entries(extra));
  if (callId) attrs.set('faas.invocation_id', callId);
  const r: SpanRecord = { traceId: T, spanId, name: `op ${spanId}`, kind, start: µs(startNs), end: µs(startNs + 1000), status: 'ok', attrs };
  if (parent) r.parentSpanId = parent;
  return r;
}

/** A → B (sync, across nodes, A's client span carries no call id) → C (async: producer, then consumer), C retried. */
function scenario(): { a: Batch[]; b: Batch[] } {
  const na = new FakeNode('node-a', 'node-a:0001');
  const nb = new FakeNode('node-b', 'node-b:0001');
  na.serve(10, 'call-A', 1_000_000, 9_000_000);
  nb.serve(20, 'call-B', 2_000_000, 8_000_000);
  na.serve(30, 'call-C', 3_000_000, 4_000_000);
  na.serve(31, 'call-C', 5_000_000, 6_000_000); // the retry, on another instance
  const a1 = na.spans.bind(na);
  a1(span('a000000000000001', 'server', 1_000_000, undefined, 'call-A', { 'faas.trigger': 'http', 'faas.coldstart': true, 'faas.name': 'fn-call-A' }));
  const batchesA = [na.cut()];
  a1(span('a000000000000002', 'client', 1_500_000, 'a000000000000001'));
  batchesA.push(na.cut());
  nb.spans(span('b000000000000001', 'server', 2_000_000, 'a000000000000002', 'call-B', { 'faas.name': 'not-what-runs' }), span('b000000000000002', 'producer', 2_500_000, 'b000000000000001'));
  const batchesB = [nb.cut()];
  a1(span('c000000000000001', 'consumer', 3_000_000, 'b000000000000002', 'call-C', { 'faas.trigger': 'pubsub' }), span('c000000000000002', 'consumer', 5_000_000, 'b000000000000002', 'call-C'));
  batchesA.push(na.cut());
  return { a: batchesA, b: batchesB };
}

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
