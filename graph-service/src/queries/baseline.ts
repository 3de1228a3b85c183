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

/** The entityKey of the directory a file is in (`file\0VOLUME-OR-NODE\0DIR`). */
export function parentKey(n: GraphNode): string | undefined {
  if (n.type !== 'File') return undefined;
  const cut = n.path.lastIndexOf('/');
  return `file\0${n.volume ?? n.node}\0${cut <= 0 ? '/' : n.path.slice(0, cut)}`;
}

/** What a function's other invocations did: content they used, and the directories they wrote files in. */
export interface Baseline {
  used: Set<string>;
  writesIn: Set<string>;
}

/**
 * A function's baseline: what units of its other invocations (call ids not in the trace) used, by
 * entityKey, and the directories they wrote files in (parentKey). Learned from the store, bounded
 * to BASELINE_UNITS units per function (by id order, so the answer is deterministic).
 */
export async function baselineKeys(store: GraphStore, functions: string[], callIds: ReadonlySet<string>, scope: TenantScope): Promise<Map<string, Baseline>> {
  const out = new Map<string, Baseline>();
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
    const b: Baseline = { used: new Set(), writesIn: new Set() };
    if (units.length > 0) {
      const used = (await store.expand(units.map((u) => ({ id: u.id, bound: Number.MAX_SAFE_INTEGER })), 'backward')).filter((s) => s.edge.type === 'USED');
      for (const n of await store.getNodes([...new Set(used.map((s) => s.neighbor))])) b.used.add(entityKey(n));
      const wrote = (await store.expand(units.map((u) => ({ id: u.id, bound: 0 })), 'forward')).filter((s) => s.edge.type === 'WAS_GENERATED_BY');
      for (const n of await store.getNodes([...new Set(wrote.map((s) => s.neighbor))])) {
        const dir = n.type === 'File' && n.fileType !== 'directory' ? parentKey(n) : undefined;
        if (dir) b.writesIn.add(dir);
      }
    }
    out.set(fn, b);
  }
  return out;
}
