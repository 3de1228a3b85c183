import { edgeId, spanNodeId, type Batch, type GraphEdge, type GraphNode, type SpanNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

/** Span ancestry is followed this many hops at most (a hostile shim could make long chains). */
const MAX_DEPTH = 64;
/** Descendants visited per span of a batch, at most. */
const MAX_VISIT = 2000;

/**
 * Cross-function stitching: `Invocation B WAS_INFORMED_BY Invocation A` when a span of B (its
 * server span, whose parent came in B's request's `traceparent`) descends from a span of A (the
 * client span of A's outgoing call), through spans of no invocation in between. Sync and async
 * calls alike: the queued request keeps its headers. Spans arrive in any order, in batches of
 * any agent: every span of a batch is joined upward (its ancestors, from the batch and the store)
 * and downward (descendants already stored, which waited for it), so whichever half arrives
 * second makes the link. Spans and their parent links are keyed by (trace id, span id) in both
 * stores (Span nodes, `WAS_INFORMED_BY` to the parent).
 *
 * Adds the links to the batch (edges between stored or batched invocations) and returns how
 * many it added.
 */
export async function stitchInvocations(store: GraphStore, batch: Batch): Promise<number> {
  const inBatch = new Map<string, GraphNode>(batch.nodes.map((n) => [n.id, n]));
  const spans = batch.nodes.filter((n): n is SpanNode => n.type === 'Span' && n.node !== undefined);
  if (spans.length === 0) return 0;
  const cache = new Map<string, GraphNode | null>();
  // A stub in the batch says nothing the store may not know better.
  const known = (b: GraphNode | undefined) => b !== undefined && !(b.type === 'Span' && b.node === undefined);
  /** Stored nodes the batch does not hold (or holds as a stub), asked together, once per batch. */
  const fetch = async (ids: Iterable<string>) => {
    const ask = [...new Set(ids)].filter((id) => !known(inBatch.get(id)) && !cache.has(id));
    if (ask.length === 0) return;
    for (const id of ask) cache.set(id, null);
    for (const n of await store.getNodes(ask)) cache.set(n.id, n);
  };
  const node = async (id: string): Promise<GraphNode | undefined> => {
    const b = inBatch.get(id);
    if (known(b)) return b;
    await fetch([id]);
    return cache.get(id) ?? b ?? undefined;
  };
  const parentOf = async (s: SpanNode): Promise<SpanNode | undefined> => {
    if (!s.parentSpanId) return undefined;
    const p = await node(spanNodeId(s.traceId, s.parentSpanId));
    return p?.type === 'Span' ? p : undefined;
  };
  /** The invocation of the nearest ancestor that names one, and that ancestor. */
  const above = async (s: SpanNode): Promise<string | undefined> => {
    let p = await parentOf(s);
    for (let d = 0; p && d < MAX_DEPTH; d++) {
      if (p.invocation) return p.invocation;
      p = await parentOf(p);
    }
    return undefined;
  };
  const childrenInBatch = new Map<string, string[]>();
  for (const e of batch.edges) {
    if (e.type !== 'WAS_INFORMED_BY' || inBatch.get(e.from)?.type !== 'Span') continue;
    const list = childrenInBatch.get(e.to) ?? [];
    list.push(e.from);
    childrenInBatch.set(e.to, list);
  }
  // Stored children per span, asked once per batch; the batch's spans all in one request up front
  // (a round trip per span was a tenth of the collector's CPU on the shop's checkouts).
  const storedKids = new Map<string, string[]>();
  const askKids = async (ids: readonly string[]) => {
    const ask = [...new Set(ids)].filter((id) => !storedKids.has(id));
    if (ask.length === 0) return;
    for (const id of ask) storedKids.set(id, []);
    for (const step of await store.expand(ask.map((id) => ({ id, bound: 0 })), 'forward', { edge: 'WAS_INFORMED_BY' })) storedKids.get(step.via)!.push(step.neighbor);
  };
  await askKids(spans.map((s) => s.id));
  await fetch(spans.flatMap((s) => storedKids.get(s.id)!));
  // The spans' ancestors up to the first that names an invocation, one level per request.
  let level: SpanNode[] = spans;
  for (let d = 0; level.length > 0 && d <= MAX_DEPTH; d++) {
    const up = level.flatMap((s) => (s.parentSpanId ? [spanNodeId(s.traceId, s.parentSpanId)] : []));
    await fetch(up);
    const next = new Map<string, SpanNode>();
    for (const id of up) {
      const p = inBatch.get(id);
      const n = known(p) ? p : (cache.get(id) ?? undefined);
      if (n?.type === 'Span' && !n.invocation) next.set(n.id, n);
    }
    level = [...next.values()];
  }
  const children = async (id: string): Promise<SpanNode[]> => {
    const ids = new Set(childrenInBatch.get(id) ?? []);
    await askKids([id]);
    for (const c of storedKids.get(id)!) ids.add(c);
    const out: SpanNode[] = [];
    for (const c of ids) {
      const n = await node(c);
      if (n?.type === 'Span') out.push(n);
    }
    return out;
  };

  // One link per (caller, callee, callee's span): the same pair found from both sides counts once.
  const links = new Map<string, { from: string; to: string; at: number }>();
  const link = (callee: SpanNode, caller: string) => {
    if (!callee.invocation || callee.invocation === caller) return;
    links.set(`${callee.invocation}\n${caller}\n${callee.id}`, { from: callee.invocation, to: caller, at: callee.start ?? 0 });
  };
  for (const s of spans) {
    // Upward: s is the first span of its invocation under a span of another.
    if (s.invocation) {
      const caller = await above(s);
      if (caller) link(s, caller);
    }
    // Downward: stored spans that waited for s (or for an ancestor of s) to say whose call they are.
    const caller = s.invocation ?? (await above(s));
    if (!caller) continue;
    const queue = [s.id];
    for (let visited = 0; queue.length > 0 && visited < MAX_VISIT; visited++) {
      for (const c of await children(queue.shift()!)) {
        if (c.invocation) link(c, caller);
        else queue.push(c.id);
      }
    }
  }

  let added = 0;
  await fetch([...links.values()].flatMap((l) => [l.from, l.to]));
  for (const { from, to, at } of links.values()) {
    // Both invocations must exist (in this batch or the store) for the edge to land.
    const [a, b] = [await node(from), await node(to)];
    if (a?.type !== 'Invocation' || b?.type !== 'Invocation') continue;
    // At the callee's start when the kernel saw it first: its server span begins after its unit
    // (and in ms), and a forward trace entering the callee at the span's time would miss its units.
    const t = Math.min(at, a.start);
    const e: GraphEdge = { id: edgeId('WAS_INFORMED_BY', from, to), type: 'WAS_INFORMED_BY', from, to, firstTime: t, lastTime: t, count: 1, bytes: 0 };
    batch.edges.push(e);
    added++;
  }
  return added;
}
