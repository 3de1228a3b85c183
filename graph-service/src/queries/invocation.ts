import { visibility, type GraphEdge, type GraphNode, type InvocationNode, type SpanNode, type TenantScope, type UnitNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { requireScope } from './scope.js';
import { GraphErrors } from '../errors.js';
import { activityTimeline, type TimelineEntry } from './timeline.js';

/** One run of the invocation in one process (a call id served again is a new attempt, never a merge). */
export interface Attempt {
  attempt: number;
  unit: GraphNode;
  /** What this unit did, in time order. */
  activity: TimelineEntry[];
}

/** An invocation that called, or was called by, one of this call id's invocations. */
export interface CallLink {
  invocation: GraphNode;
  /** The invocation of this call id on the other end. */
  via: string;
  time: number;
  count: number;
  /** Linked by addresses and timing (an uninstrumented caller), not by spans. */
  inferred: boolean;
}

/** The two layers side by side: what the kernel saw and what the function's spans say. */
export interface LayerFacts {
  invocation: string;
  kernel: { start: number; end?: number; function?: string; units: number };
  app?: { function?: string; trigger?: string; coldStart?: boolean; status?: string; start?: number; end?: number; duration?: number; traceId?: string; spanId?: string };
  contradictions: string[];
}

export interface InvocationView {
  /** One per tenant that used this call id (call ids are only unique within a tenant). */
  invocations: GraphNode[];
  units: GraphNode[];
  timeline: TimelineEntry[];
  attempts: Attempt[];
  facts: LayerFacts[];
  spans: GraphNode[];
  calledBy: CallLink[];
  called: CallLink[];
  /** The call chain through this invocation: every invocation linked to it (callers up, callees down) and the links. */
  chain: { invocations: GraphNode[]; links: { from: string; to: string; inferred: boolean }[] };
}

/** How far the call chain is followed each way. */
const CHAIN_DEPTH = 16;

/**
 * An invocation: its attempts (units, one per process run of the call id, each with what it did),
 * the app layer's facts beside the kernel's, its spans, who called it and whom it called, and the
 * call chain through it.
 */
export async function invocation(store: GraphStore, callId: string, o: { scope: TenantScope; limit?: number }): Promise<InvocationView> {
  const scope = requireScope(o.scope, 'invocation');
  const full = (n: GraphNode | undefined): n is GraphNode => n !== undefined && visibility(n, scope) === 'full';
  const found = await store.searchNodes({ type: 'Invocation', text: callId, limit: 100, offset: 0, ...(scope.all ? {} : { tenants: [...scope.tenants] }) });
  const invocations = found.filter((n): n is InvocationNode => n.type === 'Invocation' && n.callId === callId && full(n));
  if (invocations.length === 0) throw GraphErrors.FP_ERR_UNKNOWN_INVOCATION(callId);
  const parts = (await store.expand(invocations.map((i) => ({ id: i.id, bound: 0 })), 'forward')).filter((s) => s.edge.type === 'PART_OF');
  const members = (await store.getNodes([...new Set(parts.map((s) => s.neighbor))])).filter(full);
  const units = members.filter((n): n is UnitNode => n.type === 'Unit').sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  const spans = members.filter((n): n is SpanNode => n.type === 'Span').sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || a.id.localeCompare(b.id));
  const limit = o.limit ?? 1000;
  const timeline = await activityTimeline(store, units.map((u) => u.id), scope, (e) => e.type !== 'PART_OF');
  const attempts: Attempt[] = [];
  for (const [i, u] of units.entries()) {
    attempts.push({ attempt: i + 1, unit: u, activity: (await activityTimeline(store, [u.id], scope, (e) => e.type !== 'PART_OF')).slice(0, limit) });
  }
  const facts = invocations.map((inv): LayerFacts => {
    const f: LayerFacts = {
      invocation: inv.id,
      kernel: { start: inv.start, units: units.filter((u) => parts.some((p) => p.via === inv.id && p.neighbor === u.id)).length },
      contradictions: inv.contradictions ?? [],
    };
    if (inv.end !== undefined) f.kernel.end = inv.end;
    if (inv.function !== undefined) f.kernel.function = inv.function;
    if (inv.traceId !== undefined) {
      f.app = { function: inv.appFunction, trigger: inv.appTrigger, coldStart: inv.appColdStart, status: inv.appStatus, start: inv.appStart, end: inv.appEnd, duration: inv.appDuration, traceId: inv.traceId, spanId: inv.spanId };
    }
    return f;
  });
  const [calledBy, called] = await Promise.all([links(store, invocations.map((i) => i.id), 'backward', full), links(store, invocations.map((i) => i.id), 'forward', full)]);
  return { invocations, units, timeline: timeline.slice(0, limit), attempts, facts, spans, calledBy, called, chain: await chain(store, invocations, full) };
}

/** backward: the invocations these were informed by (callers); forward: those they informed (callees). */
async function links(store: GraphStore, ids: string[], direction: 'backward' | 'forward', full: (n: GraphNode | undefined) => n is GraphNode): Promise<CallLink[]> {
  const steps = (await store.expand(ids.map((id) => ({ id, bound: direction === 'backward' ? Number.MAX_SAFE_INTEGER : 0 })), direction)).filter(
    (s) => s.edge.type === 'WAS_INFORMED_BY',
  );
  const nodes = new Map((await store.getNodes([...new Set(steps.map((s) => s.neighbor))])).map((n) => [n.id, n]));
  return steps
    .filter((s) => nodes.get(s.neighbor)?.type === 'Invocation' && full(nodes.get(s.neighbor)))
    .map((s) => ({ invocation: nodes.get(s.neighbor)!, via: s.via, time: s.edge.firstTime, count: s.edge.count, inferred: s.edge.attrs?.inferred === true }))
    .sort((a, b) => a.time - b.time || a.invocation.id.localeCompare(b.invocation.id));
}

/** The invocations reachable through WAS_INFORMED_BY between invocations, both ways, up to CHAIN_DEPTH hops. */
async function chain(store: GraphStore, start: GraphNode[], full: (n: GraphNode | undefined) => n is GraphNode): Promise<InvocationView['chain']> {
  const seen = new Map(start.map((n) => [n.id, n]));
  const edges = new Map<string, GraphEdge>();
  for (const direction of ['backward', 'forward'] as const) {
    let frontier = start.map((n) => n.id);
    for (let d = 0; d < CHAIN_DEPTH && frontier.length > 0; d++) {
      const steps = (await store.expand(frontier.map((id) => ({ id, bound: direction === 'backward' ? Number.MAX_SAFE_INTEGER : 0 })), direction)).filter(
        (s) => s.edge.type === 'WAS_INFORMED_BY',
      );
      const fresh = (await store.getNodes([...new Set(steps.map((s) => s.neighbor))])).filter((n) => n.type === 'Invocation' && full(n));
      const ok = new Set(fresh.map((n) => n.id));
      for (const s of steps) if (ok.has(s.neighbor)) edges.set(s.edge.id, s.edge);
      frontier = fresh.filter((n) => !seen.has(n.id)).map((n) => n.id);
      for (const n of fresh) seen.set(n.id, n);
    }
  }
  return {
    invocations: [...seen.values()].sort((a, b) => ((a as InvocationNode).start ?? 0) - ((b as InvocationNode).start ?? 0) || a.id.localeCompare(b.id)),
    links: [...edges.values()].map((e) => ({ from: e.from, to: e.to, inferred: e.attrs?.inferred === true })).sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
  };
}
