import type { GraphStore } from '@faasprov/store';
import { attackView, trace } from '@faasprov/graph-service';
import { ALL_TENANTS, type GraphNode } from '@faasprov/model';

/**
 * A shop scenario whose ground truth lies on both sides of its alerted invocation (how it happened,
 * and what it did next: a shell it spawned, a function it called) is told by the attack views from
 * that invocation in its truth's directions (`views`, as `faasprov demo` prints them): their nodes
 * together, recall and precision against the ground truth (the alert itself left out).
 */
export async function invocationViews(store: GraphStore, name: string, invocation: string, directions: ('backward' | 'forward')[], truthNodes: GraphNode[]): Promise<Record<string, number | string>> {
  const shown = new Set<string>();
  for (const direction of directions) {
    const v = await attackView(store, await trace(store, invocation, { direction, scope: ALL_TENANTS }), ALL_TENANTS);
    for (const n of v.nodes) shown.add(n.id);
  }
  const truth = new Set(truthNodes.map((n) => n.id));
  const found = [...truth].filter((id) => shown.has(id)).length;
  const label = `${name} views from its invocation (${directions.join(' + ')})`;
  return { [`${label}: nodes`]: shown.size, [`${label}: recall`]: found / truth.size, [`${label}: precision`]: found / shown.size };
}
