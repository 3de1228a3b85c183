import type { GraphNode, TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { tenantFilter } from './scope.js';

/** At most this many units of other invocations per function are read to learn its baseline. */
export const BASELINE_UNITS = 50;

/** What identifies content across versions and requests: a file's path on its node or volume, an endpoint's address. */
export function entityKey(n: GraphNode): string {
  if (n.type === 'File') return `file\0${n.volume ?? n.node}\0${n.path}`;
  if (n.type === 'Endpoint') return `endpoint\0${n.address}\0${n.port}\0${n.node ?? ''}`;
  return `${n.type}\0${n.id}`;
}

/**
 * A function's baseline: what units of its other invocations (call ids not in the trace) used, by
 * entityKey. Learned from the store, bounded to BASELINE_UNITS units per function (by id order,
 * so the answer is deterministic).
 */
export async function baselineKeys(store: GraphStore, functions: string[], callIds: ReadonlySet<string>, scope: TenantScope): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const tenants = tenantFilter(scope);
  for (const fn of functions) {
    const units: GraphNode[] = [];
    // Pages in id order until enough units of other invocations are found (bounded).
    for (let offset = 0; units.length < BASELINE_UNITS && offset < 20 * BASELINE_UNITS; offset += 200) {
      const page = await store.searchNodes({ type: 'Unit', function: fn, limit: 200, offset, ...(tenants ? { tenants } : {}) });
      units.push(...page.filter((u) => u.type === 'Unit' && !callIds.has(u.callId)));
      if (page.length < 200) break;
    }
    units.splice(BASELINE_UNITS);
    const keys = new Set<string>();
    if (units.length > 0) {
      const used = (await store.expand(units.map((u) => ({ id: u.id, bound: Number.MAX_SAFE_INTEGER })), 'backward')).filter((s) => s.edge.type === 'USED');
      for (const n of await store.getNodes([...new Set(used.map((s) => s.neighbor))])) keys.add(entityKey(n));
    }
    out.set(fn, keys);
  }
  return out;
}
