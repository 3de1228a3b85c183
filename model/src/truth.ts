import type { GraphNode } from './graph.js';

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
}

/** Whether a stored node is the ground truth a reference describes. */
export function matchesTruth(ref: TruthRef, n: GraphNode): boolean {
  if (n.type !== ref.type) return false;
  if (ref.written && !(n.type === 'File' && n.version > 0)) return false;
  const fields = n as unknown as Record<string, unknown>;
  return Object.entries(ref.match).every(([k, v]) => fields[k] === v);
}

/** The stored nodes a scenario's references describe, and the references that matched nothing. */
export function resolveTruth(refs: readonly TruthRef[], nodes: readonly GraphNode[]): { nodes: GraphNode[]; unmatched: TruthRef[] } {
  const found = new Map<string, GraphNode>();
  const unmatched: TruthRef[] = [];
  for (const r of refs) {
    const hits = nodes.filter((n) => matchesTruth(r, n));
    if (hits.length === 0) unmatched.push(r);
    for (const h of hits) found.set(h.id, h);
  }
  return { nodes: [...found.values()], unmatched };
}

/** What an invocation contributes to a ground truth: its Invocation node and its units. */
export function invocationTruth(callId: string): TruthRef[] {
  return [{ type: 'Invocation', match: { callId } }, { type: 'Unit', match: { callId } }];
}
