import { edgeId, hashId, isLoopback, isSystemPath, runtimePrefix, type GraphEdge, type GraphNode, type SummaryNode, type TenantScope, type ViewNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import type { TraceResult } from './trace.js';
import { baselineKeys, entityKey } from './baseline.js';
import { attackSteps } from './attack-steps.js';

/** A trace reduced to its causal chain: the same graph format, folded nodes behind summary nodes. */
export interface AttackView extends Omit<TraceResult, 'nodes'> {
  view: 'attack';
  nodes: ViewNode[];
  /** What the summaries hold: the folded nodes and every edge of the full trace that touches one. */
  folded: { nodes: GraphNode[]; edges: GraphEdge[] };
  /** The chain in plain words, in causal (time) order. */
  steps: string[];
}

/** Node types never folded: they are the chain itself (activities of invocations, alerts, loss). */
const ALWAYS_KEPT = new Set<GraphNode['type']>(['Alert', 'Invocation', 'Unit', 'GpuKernel', 'GpuBuffer', 'Gap', 'Pipe']);

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1) || p;

/**
 * The attack view of a trace (documented in ARCHITECTURE.md, "Attack view"). Deterministic: the
 * same trace and store give the same view. Folds, and never drops:
 * 1. Kept always: the start node and what it concerns, invocations, units, GPU work, pipes, gaps,
 *    file versions written during capture (they carry data into the effect), and any process
 *    that generated a kept node.
 * 2. Start-up: a process that began before the first unit of the trace (the image units start
 *    from: interpreter, watchdog) folds into `EXE start-up`, with its instance.
 * 3. Content found before capture (file version 0, endpoints) that only folded processes used
 *    joins their start-up; otherwise, what other invocations of the same function also used
 *    folds into `FUNCTION baseline`; system files read as found (under /usr, /lib, /etc…, an
 *    interpreter's library, shared objects, or the installation PREFIX of a process's
 *    PREFIX/bin/EXE) into `system and runtime files`; loopback
 *    peers that were only accepted (never connected to) into `loopback peers`.
 * Everything else stays. Every folded node is listed in its summary and in `folded`.
 */
export async function attackView(store: GraphStore, full: TraceResult, scope: TenantScope): Promise<AttackView> {
  const byId = new Map(full.nodes.map((n) => [n.id, n]));
  const out = new Map<string, GraphEdge[]>();
  const into = new Map<string, GraphEdge[]>();
  for (const e of full.edges) {
    out.set(e.from, [...(out.get(e.from) ?? []), e]);
    into.set(e.to, [...(into.get(e.to) ?? []), e]);
  }
  const pinned = new Set([full.start, ...(out.get(full.start) ?? []).filter((e) => e.type === 'CONCERNS').map((e) => e.to)]);
  const unitStarts = full.nodes.filter((n) => n.type === 'Unit').map((n) => n.start);
  const firstUnit = unitStarts.length > 0 ? Math.min(...unitStarts) : undefined;

  const group = new Map<string, string>(); // node id → group key
  const keep = (n: GraphNode) =>
    pinned.has(n.id) || ALWAYS_KEPT.has(n.type) || (n.type === 'File' && n.version > 0) || (n.type === 'Endpoint' && (into.get(n.id) ?? []).some((e) => e.type === 'WAS_GENERATED_BY'));
  // Rule 2: processes that are start-up context, unless they made something kept.
  const sorted = [...full.nodes].sort((a, b) => a.id.localeCompare(b.id));
  for (const n of sorted) {
    if (n.type !== 'Process' || pinned.has(n.id) || firstUnit === undefined || n.start >= firstUnit) continue;
    const made = (into.get(n.id) ?? []).some((e) => (e.type === 'WAS_GENERATED_BY' || e.type === 'WAS_INVALIDATED_BY') && keep(byId.get(e.from)!));
    if (!made) group.set(n.id, `start-up\0${base(n.exe)}`);
  }
  for (const n of sorted) {
    if (n.type !== 'Instance' || pinned.has(n.id)) continue;
    const by = (into.get(n.id) ?? []).map((e) => group.get(e.from)).find((g) => g !== undefined);
    if (by) group.set(n.id, by);
  }
  // Rule 3: content found before capture.
  const runtimes = [...new Set(full.nodes.flatMap((n) => (n.type === 'Process' ? [runtimePrefix(n.exe)] : []).filter((r): r is string => r !== undefined)))].sort();
  const functions = [...new Set(full.nodes.flatMap((n) => (n.type === 'Unit' && n.function ? [n.function] : [])))].sort();
  const callIds = new Set(full.nodes.flatMap((n) => (n.type === 'Unit' || n.type === 'Invocation' ? [n.callId] : [])));
  const baseline = await baselineKeys(store, functions, callIds, scope);
  for (const n of sorted) {
    if (keep(n) || group.has(n.id) || (n.type !== 'File' && n.type !== 'Endpoint')) continue;
    const users = (into.get(n.id) ?? []).filter((e) => e.type === 'USED');
    // A version another write extended carried data into the effect.
    if (users.length === 0 || (into.get(n.id) ?? []).some((e) => e.type === 'WAS_DERIVED_FROM')) continue;
    const userGroups = users.map((e) => group.get(e.from));
    if (userGroups.every((g) => g !== undefined)) {
      group.set(n.id, [...userGroups].sort()[0]!);
      continue;
    }
    const fns = users.flatMap((e) => {
      const u = byId.get(e.from);
      return u?.type === 'Unit' && u.function ? [u.function] : [];
    });
    const key = entityKey(n);
    const fn = [...new Set(fns)].sort().find((f) => baseline.get(f)?.has(key));
    if (fn) group.set(n.id, `baseline\0${fn}`);
    else if (n.type === 'File' && isSystemPath(n.path, runtimes)) group.set(n.id, 'system\0');
    else if (n.type === 'Endpoint' && isLoopback(n.address) && users.every((e) => !e.attrs?.initiated)) group.set(n.id, 'peers\0');
  }
  return fold(full, byId, group);
}

function fold(full: TraceResult, byId: Map<string, GraphNode>, group: Map<string, string>): AttackView {
  const members = new Map<string, string[]>();
  for (const [id, g] of group) members.set(g, [...(members.get(g) ?? []), id]);
  const summaryOf = new Map<string, string>();
  const summaries: SummaryNode[] = [...members.keys()].sort().map((g) => {
    const ids = members.get(g)!.sort();
    const [kind, name] = g.split('\0') as [SummaryNode['kind'], string];
    const id = hashId('sum', ['Summary', full.start, full.direction, g]);
    for (const m of ids) summaryOf.set(m, id);
    const holds: Record<string, number> = {};
    for (const m of ids) holds[byId.get(m)!.type] = (holds[byId.get(m)!.type] ?? 0) + 1;
    const what = Object.entries(holds)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([t, c]) => `${c} ${plural(t, c)}`)
      .join(', ');
    const title = kind === 'start-up' ? `${name} start-up` : kind === 'baseline' ? `${name} baseline` : kind === 'system' ? 'system and runtime files' : 'loopback peers';
    return { id, type: 'Summary', kind, label: `${title}: ${what}`, members: ids, holds };
  });
  const at = (id: string) => summaryOf.get(id) ?? id;
  const merged = new Map<string, GraphEdge>();
  for (const e of full.edges) {
    const [from, to] = [at(e.from), at(e.to)];
    if (from === to && from !== e.from) continue; // inside one summary
    const id = from === e.from && to === e.to ? e.id : edgeId(e.type, from, to);
    const m = merged.get(id);
    if (!m) merged.set(id, { ...e, id, from, to });
    else {
      m.firstTime = Math.min(m.firstTime, e.firstTime);
      m.lastTime = Math.max(m.lastTime, e.lastTime);
      m.count += e.count;
      m.bytes += e.bytes;
      if (e.attrs) m.attrs = { ...m.attrs, ...e.attrs };
    }
  }
  const kept = full.nodes.filter((n) => !group.has(n.id));
  const edges = [...merged.values()].sort((a, b) => a.firstTime - b.firstTime || a.id.localeCompare(b.id));
  return {
    start: full.start,
    direction: full.direction,
    truncated: full.truncated,
    ends: [...new Set(full.ends.map(at))],
    view: 'attack',
    nodes: [...kept, ...summaries],
    edges,
    folded: { nodes: full.nodes.filter((n) => group.has(n.id)), edges: full.edges.filter((e) => group.has(e.from) || group.has(e.to)) },
    steps: attackSteps(kept, edges),
  };
}

function plural(type: string, n: number): string {
  const word = type === 'Process' ? 'process' : type === 'Endpoint' ? 'endpoint' : type === 'Instance' ? 'instance' : type === 'File' ? 'file' : type.toLowerCase();
  if (n === 1) return word;
  return word.endsWith('s') ? `${word}es` : `${word}s`;
}
