import { visibility, type GraphEdge, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { requireScope } from './scope.js';
import { GraphErrors } from '../errors.js';

export interface PathOptions {
  maxDepth?: number;
  /** Required: no scope, no answer. */
  scope: TenantScope;
}

export interface PathResult {
  from: string;
  to: string;
  /** The nodes of one shortest time-respecting path, in order from cause to effect. */
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/**
 * One shortest path along which `from` could have affected `to`: a forward, time-respecting
 * search (the same rule as trace) that stops at `to`. Other tenants' nodes are never crossed.
 */
export async function findPath(store: GraphStore, from: string, to: string, options: PathOptions): Promise<PathResult> {
  const maxDepth = options.maxDepth ?? 20;
  const scope = requireScope(options.scope, 'findPath');
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 100) throw GraphErrors.FP_ERR_BAD_OPTION('paths', 'maxDepth must be 1 to 100');
  const ends = await store.getNodes([from, to]);
  const byId = new Map(ends.map((n) => [n.id, n]));
  for (const id of [from, to]) {
    const n = byId.get(id);
    if (!n || visibility(n, scope) !== 'full') throw GraphErrors.FP_ERR_UNKNOWN_NODE(id);
  }
  const best = new Map<string, number>([[from, 0]]);
  const parent = new Map<string, GraphEdge>();
  let frontier = [{ id: from, bound: 0 }];
  for (let depth = 0; frontier.length > 0 && depth < maxDepth && !parent.has(to); depth++) {
    const bounds = new Map(frontier.map((f) => [f.id, f.bound]));
    const next = new Map<string, number>();
    for (const s of await store.expand(frontier, 'forward')) {
      const bound = Math.max(bounds.get(s.via)!, s.edge.firstTime);
      const old = best.get(s.neighbor);
      if (old === undefined || bound < old) {
        best.set(s.neighbor, bound);
        next.set(s.neighbor, bound);
        parent.set(s.neighbor, s.edge);
      }
    }
    const fresh = [...next.keys()].filter((id) => !byId.has(id));
    for (const n of await store.getNodes(fresh)) byId.set(n.id, n);
    frontier = [...next].filter(([id]) => visibility(byId.get(id)!, scope) === 'full').map(([id, bound]) => ({ id, bound }));
  }
  if (!parent.has(to)) throw GraphErrors.FP_ERR_NO_PATH(from, to);
  const edges: GraphEdge[] = [];
  for (let at = to; at !== from; ) {
    const e = parent.get(at)!;
    edges.unshift(e);
    at = e.from === at ? e.to : e.from;
  }
  const order: string[] = [from];
  for (const e of edges) order.push(order.at(-1) === e.from ? e.to : e.from);
  return { from, to, nodes: order.map((id) => byId.get(id)!), edges };
}
