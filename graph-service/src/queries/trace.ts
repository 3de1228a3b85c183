import { redact, visibility, type GraphEdge, type GraphNode, type SerializedGraph, type TenantScope } from '@faasprov/model';
import type { Direction, GraphStore } from '@faasprov/store';
import { GraphErrors } from '../errors.js';
import { requireScope } from './scope.js';
import { invocationSteps } from './invocation-steps.js';

export interface TraceOptions {
  direction: Direction;
  /** Hops from the start node. */
  maxDepth?: number;
  /** Stop after this many nodes (the result says it was truncated). */
  maxNodes?: number;
  /** Only what happened in [since, until] (µs since the epoch). */
  since?: number;
  until?: number;
  /** What the asker may see: other tenants' nodes come back redacted and are not expanded. Required: no scope, no answer. */
  scope: TenantScope;
}

export interface TraceResult extends SerializedGraph {
  start: string;
  direction: Direction;
  truncated: boolean;
  /** Where the trace ends: the root causes (backward) or the last effects (forward). */
  ends: string[];
}

const DEFAULTS = { maxDepth: 64, maxNodes: 10000 };
const NO_BOUND_BACKWARD = Number.MAX_SAFE_INTEGER;

/**
 * Time-respecting trace. Backward (root cause): an edge is followed only if it began before
 * the effect it would explain; forward (impact): only if it ended after the cause. A node
 * reached again with a better bound is expanded again. Traces enter invocations from both sides
 * (invocation-steps.ts), so WAS_INFORMED_BY between invocations is followed both ways.
 */
export async function trace(store: GraphStore, start: string, options: TraceOptions): Promise<TraceResult> {
  const o = { ...DEFAULTS, ...options };
  if (o.direction !== 'backward' && o.direction !== 'forward') {
    throw GraphErrors.FP_ERR_BAD_OPTION('trace', `direction must be backward or forward, not ${String(o.direction)}`);
  }
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 0) throw GraphErrors.FP_ERR_BAD_OPTION('trace', 'maxDepth must be a non-negative integer');
  const since = o.since ?? 0;
  const until = o.until ?? NO_BOUND_BACKWARD;
  if (!Number.isSafeInteger(since) || !Number.isSafeInteger(until) || since < 0 || until < since) {
    throw GraphErrors.FP_ERR_BAD_OPTION('trace', `since and until must be times in µs with since <= until (since ${o.since}, until ${o.until})`);
  }
  const scope = requireScope(o.scope, 'trace');
  const [root] = await store.getNodes([start]);
  // Another tenant's node does not exist for this asker.
  if (!root || visibility(root, scope) !== 'full') throw GraphErrors.FP_ERR_UNKNOWN_NODE(start);
  const seen = new Map<string, GraphNode>([[root.id, root]]);
  const boundary = new Set<string>();
  const backward = o.direction === 'backward';
  const best = new Map<string, number>([[start, backward ? until : since]]);
  const edges = new Map<string, GraphEdge>();
  // Edges followed with their direction, and PART_OF edges followed against it (an edge can be both).
  const along = new Set<string>();
  const crossed = new Set<string>();
  let frontier = [{ id: start, bound: best.get(start)! }];
  let truncated = false;
  let depth = 0;
  for (; frontier.length > 0 && depth < o.maxDepth; depth++) {
    const bounds = new Map(frontier.map((f) => [f.id, f.bound]));
    const next = new Map<string, number>();
    const steps = [...(await store.expand(frontier, o.direction)), ...(await invocationSteps(store, frontier, seen, o.direction))];
    for (const s of steps) {
      const across = 'across' in s;
      // Outside the window: it could not have carried an effect the question is about.
      if (!across && (s.edge.lastTime < since || s.edge.firstTime > until)) continue;
      const via = bounds.get(s.via)!;
      const bound = across ? via : backward ? Math.min(via, s.edge.lastTime) : Math.max(via, s.edge.firstTime);
      const old = best.get(s.neighbor);
      // Full: keep the nodes found so far (fan-in or fan-out of thousands still shows them).
      if (old === undefined && best.size >= o.maxNodes) {
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
  if (depth >= o.maxDepth && frontier.length > 0) truncated = true;
  const nodes: GraphNode[] = [...best.keys()].flatMap((id) => {
    const n = seen.get(id);
    if (!n) return [];
    return boundary.has(id) ? [redact(n)] : [n];
  });
  const ids = new Set(nodes.map((n) => n.id));
  const kept = [...edges.values()].filter((e) => ids.has(e.from) && ids.has(e.to));
  // Backward, an edge leads on from its `from`; forward, from its `to`.
  // Against its direction, the other end leads on.
  const leadsOn = new Set(
    kept.flatMap((e) => [...(along.has(e.id) ? [backward ? e.from : e.to] : []), ...(crossed.has(e.id) ? [backward ? e.to : e.from] : [])]),
  );
  return {
    start,
    direction: o.direction,
    truncated,
    ends: nodes.filter((n) => !leadsOn.has(n.id)).map((n) => n.id),
    nodes,
    edges: kept,
  };
}
