import type { GraphEdge, GraphNode } from './graph.js';

/**
 * One ground-truth node of an attack scenario, described by what a scenario knows when it runs
 * (a call id, a path, an address), not by node ids: every stored node of `type` whose fields equal
 * `match` is ground truth. `written` keeps only file versions made during capture (version > 0).
 * The attack-precision benchmark and the shop tests measure the attack view against these.
 */
export interface TruthRef {
  type: GraphNode['type'];
  match: Record<string, string | number>;
  written?: boolean;
  /** Only the nodes a unit of this call id generated (a GPU buffer version an invocation wrote): needs the edges. */
  by?: string;
}

/** Whether a stored node is the ground truth a reference describes. */
export function matchesTruth(ref: TruthRef, n: GraphNode): boolean {
  if (n.type !== ref.type) return false;
  if (ref.written && !(n.type === 'File' && n.version > 0)) return false;
  const fields = n as unknown as Record<string, unknown>;
  return Object.entries(ref.match).every(([k, v]) => fields[k] === v);
}

/** The stored nodes a scenario's references describe, and the references that matched nothing. A reference with `by` matches only through edges. */
export function resolveTruth(refs: readonly TruthRef[], nodes: readonly GraphNode[], edges: readonly Pick<GraphEdge, 'type' | 'from' | 'to'>[] = []): { nodes: GraphNode[]; unmatched: TruthRef[] } {
  const found = new Map<string, GraphNode>();
  const unmatched: TruthRef[] = [];
  const units = new Map(nodes.flatMap((n) => (n.type === 'Unit' ? [[n.id, n.callId] as const] : [])));
  const madeBy = (id: string, callId: string) => edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.from === id && units.get(e.to) === callId);
  for (const r of refs) {
    const hits = nodes.filter((n) => matchesTruth(r, n) && (r.by === undefined || madeBy(n.id, r.by)));
    if (hits.length === 0) unmatched.push(r);
    for (const h of hits) found.set(h.id, h);
  }
  return { nodes: [...found.values()], unmatched };
}

/** What an invocation contributes to a ground truth: its Invocation node and its units. */
export function invocationTruth(callId: string): TruthRef[] {
  return [{ type: 'Invocation', match: { callId } }, { type: 'Unit', match: { callId } }];
}
