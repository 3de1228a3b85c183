import { redact, type SerializedGraph, type TenantScope } from '@faasprov/model';
import type { Direction, GraphStore, WalkRequest } from '@faasprov/store';
import { GraphErrors } from '../errors.js';
import { requireScope } from './scope.js';
import { walkByExpand } from './walk.js';

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
 * (invocation-steps.ts), so WAS_INFORMED_BY between invocations is followed both ways. The walk
 * is walk.ts's over expand, or the store's own when it has one (Neo4j: one query, not one per depth).
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
  const backward = o.direction === 'backward';
  const req: WalkRequest = {
    start,
    direction: o.direction,
    maxDepth: o.maxDepth,
    maxNodes: o.maxNodes,
    since,
    until,
    ...(scope.all ? {} : { tenants: [...scope.tenants] }),
  };
  const walked = store.walk ? await store.walk(req) : await walkByExpand(store, req, scope);
  // Another tenant's node does not exist for this asker.
  if (!walked || !walked.nodes.some((n) => n.node.id === start && n.full)) throw GraphErrors.FP_ERR_UNKNOWN_NODE(start);
  const nodes = walked.nodes.map((n) => (n.full ? n.node : redact(n.node)));
  const ids = new Set(nodes.map((n) => n.id));
  // Edges to nodes the limit left out are not shown.
  const kept = walked.steps.filter((s) => ids.has(s.edge.from) && ids.has(s.edge.to));
  // Backward, an edge leads on from its `from`; forward, from its `to`.
  // Against its direction, the other end leads on.
  const leadsOn = new Set(kept.map((s) => (s.across === backward ? s.edge.to : s.edge.from)));
  return {
    start,
    direction: o.direction,
    truncated: walked.truncated,
    ends: nodes.filter((n) => !leadsOn.has(n.id)).map((n) => n.id),
    nodes,
    edges: [...new Map(kept.map((s) => [s.edge.id, s.edge])).values()],
  };
}
