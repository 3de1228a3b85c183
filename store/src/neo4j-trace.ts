import type { Direction } from './graph-store.js';

/**
 * A whole time-respecting trace in one Cypher query: the walk of graph-service's trace.ts
 * (expand, the invocation steps, the bounds, the node limit), its depths unrolled, so that
 * Neo4j answers a trace in one round trip instead of one or more per depth.
 *
 * Rows carry a node and its bound: best holds every node reached (k: returned by an earlier
 * query of the same trace, i: its bound improved in the last depth); front the nodes to expand
 * next. A depth joins each front node's edges that could have carried the effect, then keeps, per
 * node, the best bound (an aggregation, so that a node reached several ways is one row); a node
 * reached again with a better bound is expanded again. Once best would pass $maxNodes, the rest
 * of the new nodes are dropped and nothing more is expanded (trunc).
 */

/** Depths one query unrolls: a deeper trace takes ceil(maxDepth / DEPTHS_PER_QUERY) queries at most. */
export const DEPTHS_PER_QUERY = 8;

/** The µs time properties the store derives DATETIMEs from: stripped from what a trace returns. */
export const EDGE_CORE = ['id', 'firstTime', 'lastTime', 'count', 'bytes', 'firstAt', 'lastAt'];

/** Whether the asker sees node n in full (model/tenancy.ts's visibility, in Cypher). */
const visible = (n: string) => `($all OR (${n}.tenant IS NOT NULL AND ${n}.tenant IN $tenants) OR (${n}.tenant IS NULL AND ${n}.tenantUnknown IS NULL AND ${n}.type IN $shared))`;

function depth(direction: Direction): string {
  const back = direction === 'backward';
  // Backward, a later bound lets more through; forward, an earlier one.
  const agg = back ? 'max' : 'min';
  const better = (x: string, y: string) => (back ? `${x} > ${y}` : `${x} < ${y}`);
  // Along: the store's expand; across: PART_OF against its direction (invocation-steps.ts).
  const along = back
    ? `MATCH (a)-[r]->(m) WHERE r.firstTime <= via AND r.lastTime >= $since AND r.firstTime <= $until
       RETURN r, m, CASE WHEN r.lastTime < via THEN r.lastTime ELSE via END AS b, false AS x`
    : `MATCH (m)-[r]->(a) WHERE r.lastTime >= via AND r.lastTime >= $since AND r.firstTime <= $until
       RETURN r, m, CASE WHEN r.firstTime > via THEN r.firstTime ELSE via END AS b, false AS x`;
  const across = back
    ? `MATCH (m)-[r:PART_OF]->(a) WHERE a.type = 'Invocation' AND r.firstTime <= via RETURN r, m, via AS b, true AS x`
    : `MATCH (a)-[r:PART_OF]->(m) WHERE a.type = 'Unit' RETURN r, m, via AS b, true AS x`;
  return `
CALL {
  WITH front, trunc
  UNWIND CASE WHEN trunc THEN [] ELSE front END AS f
  WITH f.n AS a, f.b AS via
  CALL {
    WITH a, via
    ${along}
    UNION ALL
    WITH a, via
    ${across}
  }
  RETURN collect({r: r, m: m, b: b, x: x}) AS cand
}
CALL {
  WITH best, cand
  UNWIND [e IN best | {n: e.n, o: e.b, k: e.k}] + [c IN cand | {n: c.m, c: c.b}] AS y
  WITH y.n AS n, ${agg}(y.o) AS o, ${agg}(y.c) AS c, max(y.k) AS k
  WITH collect(CASE WHEN o IS NOT NULL THEN {n: n, k: k, b: CASE WHEN c IS NOT NULL AND ${better('c', 'o')} THEN c ELSE o END, i: c IS NOT NULL AND ${better('c', 'o')}} END) AS old,
       collect(CASE WHEN o IS NULL THEN {n: n, k: false, b: c, i: true} END) AS fresh
  WITH old, fresh, $maxNodes - size(old) AS room
  RETURN old + CASE WHEN room > 0 THEN fresh[..room] ELSE [] END AS best2, size(fresh) > room AS full
}
WITH best2 AS best, [e IN best2 WHERE e.i AND ${visible('e.n')} | {n: e.n, b: e.b}] AS front, steps + [c IN cand | {r: c.r, x: c.x}] AS steps, trunc OR full AS trunc`;
}

/** The first query of a trace starts at $start with bound $bound. */
const FIRST = `MATCH (s:Node {id: $start})
WITH [{n: s, b: $bound, k: false, i: true}] AS best, CASE WHEN ${visible('s')} THEN [{n: s, b: $bound}] ELSE [] END AS front, [] AS steps, false AS trunc`;

/** A later query goes on from $best (every node so far: id, bound, f: to expand next). */
const NEXT = `UNWIND $best AS e
MATCH (n:Node {id: e.id})
WITH collect({n: n, b: e.b, k: true, f: e.f}) AS best
WITH best, [e IN best WHERE e.f | {n: e.n, b: e.b}] AS front, [] AS steps, false AS trunc`;

/** Items (nodes, edges or front entries) per result record. */
export const RESULT_GROUP = 200;

/**
 * Records of kind 0: nodes [id, bound, visible, properties but id as [key, value] pairs, or null
 * when returned before]; 1: edges [type, from, to, across, id, firstTime, lastTime, count, bytes,
 * other properties as pairs]; 2: front [id, bound] still to expand; 3: [trunc]. Lists, not maps:
 * the driver decodes them ~3x faster. At most RESULT_GROUP items a record: the JS driver reads a
 * record spanning several Bolt chunks through a buffer whose every byte read walks all the
 * chunks, so one record holding a whole trace cost more to decode than the query cost to run.
 */
const RESULT = `
CALL {
  WITH best
  UNWIND range(0, size(best) - 1, ${RESULT_GROUP}) AS i
  RETURN 0 AS kind, [e IN best[i..i + ${RESULT_GROUP}] | [e.n.id, e.b, ${visible('e.n')}, CASE WHEN e.k THEN null ELSE [k IN keys(e.n) WHERE NOT k IN $nodeOmit | [k, e.n[k]]] END]] AS items
  UNION ALL
  WITH steps
  CALL {
    WITH steps
    UNWIND steps AS s
    WITH DISTINCT s.r AS r, s.x AS x
    RETURN collect([type(r), startNode(r).id, endNode(r).id, x, r.id, r.firstTime, r.lastTime, r.count, r.bytes,
                    [k IN keys(r) WHERE NOT k IN $edgeCore | [k, r[k]]]]) AS edges
  }
  UNWIND range(0, size(edges) - 1, ${RESULT_GROUP}) AS i
  RETURN 1 AS kind, edges[i..i + ${RESULT_GROUP}] AS items
  UNION ALL
  WITH front
  UNWIND range(0, size(front) - 1, ${RESULT_GROUP}) AS i
  RETURN 2 AS kind, [e IN front[i..i + ${RESULT_GROUP}] | [e.n.id, e.b]] AS items
  UNION ALL
  WITH trunc
  RETURN 3 AS kind, [trunc] AS items
}
RETURN kind, items`;

const cache = new Map<string, string>();

/** The query for `depths` depths (1..DEPTHS_PER_QUERY), first or later in a trace. */
export function walkQuery(direction: Direction, depths: number, first: boolean): string {
  const key = `${direction}:${depths}:${first}`;
  let q = cache.get(key);
  if (q === undefined) {
    q = (first ? FIRST : NEXT) + depth(direction).repeat(depths) + RESULT;
    cache.set(key, q);
  }
  return q;
}
