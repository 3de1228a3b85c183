import { isInferenceGap, visibility, type GapNode, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { requireScope } from './scope.js';

export interface InstanceHealth {
  instance: GraphNode;
  processes: number;
  invocations: number;
  /** Operations seen (syscalls after in-kernel reduction, summed over edges) and edges stored. */
  operations: number;
  edges: number;
  /** Loss Gaps attributed to the instance and the events they lost (0 when unknown). */
  gaps: number;
  lost: number;
  /** Operations charged to its processes by inference (inference Gaps: nothing lost, edges marked inferred). */
  inferred: number;
}

/** Function instances with what capture saw of them and what it lost. */
export async function instances(store: GraphStore, o: { function?: string; limit?: number; scope: TenantScope }): Promise<InstanceHealth[]> {
  const scope = requireScope(o.scope, 'instances');
  const found = (await store.searchNodes({ type: 'Instance', function: o.function, limit: o.limit ?? 100, offset: 0, ...(scope.all ? {} : { tenants: [...scope.tenants] }) }))
    .filter((n) => visibility(n, scope) === 'full');
  const out: InstanceHealth[] = [];
  for (const inst of found) {
    const around = await store.expand([{ id: inst.id, bound: 0 }], 'forward');
    const procs = around.filter((s) => s.edge.type === 'WAS_ASSOCIATED_WITH').map((s) => s.neighbor);
    const gapIds = around.filter((s) => s.edge.type === 'WAS_ATTRIBUTED_TO').map((s) => s.neighbor);
    const allGaps = (await store.getNodes(gapIds)).filter((g): g is GapNode => g.type === 'Gap');
    const gaps = allGaps.filter((g) => !isInferenceGap(g));
    const activities = await store.getNodes(procs);
    // Units hang off their processes (Unit WAS_INFORMED_BY Process): their work is the instance's too.
    const units = (await store.expand(procs.map((id) => ({ id, bound: 0 })), 'forward')).filter((s) => s.edge.type === 'WAS_INFORMED_BY').map((s) => s.neighbor);
    const unitNodes = (await store.getNodes(units)).filter((n) => n.type === 'Unit');
    const subjects = [...procs, ...unitNodes.map((u) => u.id)];
    const steps = await store.expand(subjects.map((id) => ({ id, bound: Number.MAX_SAFE_INTEGER })), 'backward');
    const ops = steps.filter((s) => s.edge.type === 'USED' || s.edge.type === 'WAS_INFORMED_BY');
    const made = (await store.expand(subjects.map((id) => ({ id, bound: 0 })), 'forward')).filter((s) => s.edge.type === 'WAS_GENERATED_BY' || s.edge.type === 'WAS_INVALIDATED_BY');
    const all = [...ops, ...made];
    out.push({
      instance: inst,
      processes: activities.filter((a) => a.type === 'Process').length,
      invocations: new Set(unitNodes.map((u) => (u.type === 'Unit' ? u.callId : ''))).size,
      operations: all.reduce((a, s) => a + s.edge.count, 0),
      edges: all.length,
      gaps: gaps.length,
      lost: gaps.reduce((a, g) => a + g.count, 0),
      inferred: allGaps.filter(isInferenceGap).reduce((a, g) => a + g.count, 0),
    });
  }
  return out;
}
