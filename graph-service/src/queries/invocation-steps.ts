import type { GraphNode } from '@faasprov/model';
import type { Direction, ExpandStep, FrontierEntry, GraphStore } from '@faasprov/store';

/** A step that crosses PART_OF against its PROV direction: the bound it carries is the one it came with. */
export interface CrossStep extends ExpandStep {
  across: true;
}

/**
 * How a trace enters an invocation from the other side. PROV edges run Unit -PART_OF-> Invocation,
 * so a store's expand reaches an invocation only backward from its units and its units only
 * forward from it. The invocation is one activity made of its units, so a trace also goes:
 * - backward from an Invocation to its units that began before the bound (what they did before
 *   then can explain the effect, e.g. a caller's unit that sent the request behind WAS_INFORMED_BY);
 * - forward from a Unit to its Invocation (and on to the invocations it informed), whatever the
 *   time, since the unit is part of it while it runs.
 * Built on the stores' own expand (the opposite direction, filtered here), so every store answers alike.
 */
export async function invocationSteps(store: GraphStore, frontier: readonly FrontierEntry[], nodes: ReadonlyMap<string, GraphNode>, direction: Direction): Promise<CrossStep[]> {
  const want = direction === 'backward' ? 'Invocation' : 'Unit';
  const entries = frontier.filter((f) => nodes.get(f.id)?.type === want);
  if (entries.length === 0) return [];
  const bounds = new Map(entries.map((f) => [f.id, f.bound]));
  // The other direction with an open bound returns every edge on that side; the time rule is applied here.
  const other: Direction = direction === 'backward' ? 'forward' : 'backward';
  const open = other === 'forward' ? 0 : Number.MAX_SAFE_INTEGER;
  const steps = await store.expand(entries.map((f) => ({ id: f.id, bound: open })), other);
  return steps
    .filter((s) => s.edge.type === 'PART_OF' && (direction === 'forward' || s.edge.firstTime <= bounds.get(s.via)!))
    .map((s) => ({ ...s, across: true as const }));
}
