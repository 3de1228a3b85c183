import { visibility, type GraphEdge, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { requireScope, tenantFilter } from './scope.js';
import { GraphErrors } from '../errors.js';

export interface TimelineEntry {
  time: number;
  lastTime: number;
  process: string;
  action: string;
  object: GraphNode;
  count: number;
  bytes: number;
}

/** What the processes of a function's instances did in [since, until], in time order. */
export async function timeline(
  store: GraphStore,
  fn: string,
  o: { since?: number; until?: number; limit?: number; scope: TenantScope },
): Promise<TimelineEntry[]> {
  const scope = requireScope(o.scope, 'timeline');
  const since = o.since ?? 0;
  const until = o.until ?? Number.MAX_SAFE_INTEGER;
  const limit = o.limit ?? 500;
  if (until < since) throw GraphErrors.FP_ERR_BAD_OPTION('timeline', 'since must not be after until');
  const instances = (await store.searchNodes({ type: 'Instance', function: fn, limit: 100, offset: 0, tenants: tenantFilter(scope) })).filter((n) => visibility(n, scope) === 'full');
  const procs = (await store.expand(instances.map((i) => ({ id: i.id, bound: 0 })), 'forward'))
    .filter((s) => s.edge.type === 'WAS_ASSOCIATED_WITH')
    .map((s) => s.neighbor);
  const entries = await activityTimeline(store, [...new Set(procs)], scope, (e) => e.type !== 'WAS_ASSOCIATED_WITH' && e.lastTime >= since && e.firstTime <= until);
  return entries.slice(0, limit);
}

/**
 * What these activities did (their edges both ways that keep accepts), in time order, with the
 * other end of each edge; nodes the scope may not see are left out.
 */
export async function activityTimeline(
  store: GraphStore,
  activities: string[],
  scope: TenantScope,
  keep: (e: GraphEdge) => boolean,
): Promise<TimelineEntry[]> {
  const out = await store.expand(activities.map((id) => ({ id, bound: Number.MAX_SAFE_INTEGER })), 'backward');
  const inn = await store.expand(activities.map((id) => ({ id, bound: 0 })), 'forward');
  const steps = [...out, ...inn].filter((s) => keep(s.edge));
  const objects = new Map((await store.getNodes([...new Set(steps.map((s) => s.neighbor))])).map((n) => [n.id, n]));
  const entries: TimelineEntry[] = [];
  for (const s of steps) {
    const object = objects.get(s.neighbor);
    if (!object || visibility(object, scope) !== 'full') continue;
    entries.push({ time: s.edge.firstTime, lastTime: s.edge.lastTime, process: s.via, action: s.edge.type, object, count: s.edge.count, bytes: s.edge.bytes });
  }
  return entries.sort((a, b) => a.time - b.time || a.process.localeCompare(b.process));
}
