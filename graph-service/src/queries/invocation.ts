import { visibility, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { requireScope } from './scope.js';
import { GraphErrors } from '../errors.js';
import { activityTimeline, type TimelineEntry } from './timeline.js';

export interface InvocationView {
  /** One per tenant that used this call id (call ids are only unique within a tenant). */
  invocations: GraphNode[];
  units: GraphNode[];
  timeline: TimelineEntry[];
}

/** An invocation: its units (one per process that worked on it) and what they did, in time order. */
export async function invocation(store: GraphStore, callId: string, o: { scope: TenantScope; limit?: number }): Promise<InvocationView> {
  const scope = requireScope(o.scope, 'invocation');
  const found = await store.searchNodes({ type: 'Invocation', text: callId, limit: 100, offset: 0, ...(scope.all ? {} : { tenants: [...scope.tenants] }) });
  const invocations = found.filter((n) => n.type === 'Invocation' && n.callId === callId && visibility(n, scope) === 'full');
  if (invocations.length === 0) throw GraphErrors.FP_ERR_UNKNOWN_INVOCATION(callId);
  const unitIds = (await store.expand(invocations.map((i) => ({ id: i.id, bound: 0 })), 'forward'))
    .filter((s) => s.edge.type === 'PART_OF')
    .map((s) => s.neighbor);
  const units = (await store.getNodes([...new Set(unitIds)])).filter((u) => visibility(u, scope) === 'full');
  const timeline = await activityTimeline(store, units.map((u) => u.id), scope, (e) => e.type !== 'PART_OF');
  return { invocations, units, timeline: timeline.slice(0, o.limit ?? 1000) };
}
