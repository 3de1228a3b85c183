import { visibility, type GraphEdge, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore, WalkRequest, WalkResult } from '@faasprov/store';
import { invocationSteps } from './invocation-steps.js';

/**
 * The time-respecting walk behind trace.ts, over the store's expand: one expand (and one node
 * lookup) per depth. Backward (root cause), an edge is followed only if it began before the effect
 * it would explain; forward (impact), only if it ended after the cause. A node reached again with
 * a better bound is expanded again. A store whose round trips are dear answers the same walk
 * itself (GraphStore.walk; Neo4j: neo4j-trace.ts).
 */
export async function walkByExpand(store: GraphStore, req: WalkRequest, scope: TenantScope): Promise<WalkResult | undefined> {
  const { start, maxDepth, maxNodes, since, until } = req;
  const [root] = await store.getNodes([start]);
  if (!root) return undefined;
  const seen = new Map<string, GraphNode>([[root.id, root]]);
  const boundary = new Set<string>(visibility(root, scope) === 'full' ? [] : [root.id]);
  const backward = req.direction === 'backward';
  const best = new Map<string, number>([[start, backward ? until : since]]);
  const edges = new Map<string, GraphEdge>();
  // Edges followed with their direction, and PART_OF edges followed against it (an edge can be both).
  const along = new Set<string>();
  const crossed = new Set<string>();
  let frontier = boundary.has(start) ? [] : [{ id: start, bound: best.get(start)! }];
  let truncated = false;
  let depth = 0;
  for (; frontier.length > 0 && depth < maxDepth; depth++) {
    const bounds = new Map(frontier.map((f) => [f.id, f.bound]));
    const next = new Map<string, number>();
    const steps = [...(await store.expand(frontier, req.direction)), ...(await invocationSteps(store, frontier, seen, req.direction))];
    for (const s of steps) {
      const across = 'across' in s;
      // Outside the window: it could not have carried an effect the question is about.
      if (!across && (s.edge.lastTime < since || s.edge.firstTime > until)) continue;
      const via = bounds.get(s.via)!;
      const bound = across ? via : backward ? Math.min(via, s.edge.lastTime) : Math.max(via, s.edge.firstTime);
      const old = best.get(s.neighbor);
      // Full: keep the nodes found so far (fan-in or fan-out of thousands still shows them).
      if (old === undefined && best.size >= maxNodes) {
        truncated = true;
        continue;
      }
      edges.set(s.edge.id, s.edge);
      (across ? crossed : along).add(s.edge.id);
      if (old === undefined || (backward ? bound > old : bound < old)) {
        best.set(s.neighbor, bound);
        next.set(s.neighbor, bound);
      }
    }
    const fresh = [...next.keys()].filter((id) => !seen.has(id));
    for (const n of await store.getNodes(fresh)) {
      seen.set(n.id, n);
      if (visibility(n, scope) === 'boundary') boundary.add(n.id);
    }
    if (truncated) break;
    frontier = [...next].filter(([id]) => !boundary.has(id)).map(([id, bound]) => ({ id, bound }));
  }
  // Stopped by the depth limit with nodes still to expand: say so.
  if (depth >= maxDepth && frontier.length > 0) truncated = true;
  const nodes = [...best.keys()].flatMap((id) => {
    const node = seen.get(id);
    return node ? [{ node, full: !boundary.has(id) }] : [];
  });
  const steps = [...edges.values()].flatMap((edge) => [
    ...(along.has(edge.id) ? [{ edge, across: false }] : []),
    ...(crossed.has(edge.id) ? [{ edge, across: true }] : []),
  ]);
  return { nodes, steps, truncated };
}
