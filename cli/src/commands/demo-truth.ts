/**
 * The ground truth of a scripted shop attack (b, c, e), written from what the script did, before
 * looking at the graph: named invocations, files, endpoints and processes, and the edges between
 * them a complete story must hold. truthNodesByName finds those in a stored graph (tests, benchmarks).
 */
import { basename } from 'node:path';
import type { GraphNode, SerializedGraph, TruthRef } from '@faasprov/model';

export type ViewDirection = 'backward' | 'forward';

export interface ShopTruth {
  attack: string;
  /** The function whose alert tells the attack, the invocation (call id) it is about, and the rules that may raise it, most telling first. */
  function: string;
  alerted: string;
  rules: string[];
  /** The attack views from the alerted invocation that together hold the truth (how it happened, and what it did next). */
  views: ViewDirection[];
  /** Name → call id. An invocation name stands for its units and its Invocation node. */
  invocations: Record<string, string>;
  /**
   * Name → file: written during the attack (versions > 0; with `by`, only the versions that named
   * invocation wrote) or read as found (version 0); on a volume, the path inside it.
   */
  files: Record<string, { path: string; volume?: string; written: boolean; by?: string }>;
  endpoints: Record<string, { address: string; port: number }>;
  /** Name → a process image (by executable name, one of exe) started, by fork and exec, inside the named invocation. */
  processes: Record<string, { exe: string[]; under: string; pid?: number }>;
  /** Edges as TYPE from to, naming nodes above. */
  edges: [string, string, string][];
  /** Benign calls made alongside. */
  benign: { function: string; callId: string }[];
  /** What the attacker got, in the script's own words. */
  got: string;
  /** The same nodes as references (`resolveTruth` in @faasprov/model: the attack-precision benchmark reads them), once the demo has run. */
  nodes?: TruthRef[];
}

/** A fork or an exec, not a signal or a ptrace. */
const lineage = (e: SerializedGraph['edges'][number]) => e.type === 'WAS_INFORMED_BY' && !e.attrs?.signal && !e.attrs?.ptrace;

/** Each name of the truth → the graph's nodes it stands for (empty when missing). */
export function truthNodesByName(g: SerializedGraph, t: ShopTruth): Record<string, GraphNode[]> {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const out: Record<string, GraphNode[]> = {};
  for (const [name, callId] of Object.entries(t.invocations)) {
    out[name] = g.nodes.filter((n) => (n.type === 'Unit' || n.type === 'Invocation') && n.callId === callId);
  }
  for (const [name, f] of Object.entries(t.files)) {
    const writers = f.by === undefined ? undefined : new Set((out[f.by] ?? []).map((n) => n.id));
    const wrote = (id: string) => writers === undefined || g.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.from === id && writers.has(e.to));
    out[name] = g.nodes.filter((n) => n.type === 'File' && n.path === f.path && (n.volume ?? undefined) === f.volume && (f.written ? n.version > 0 && wrote(n.id) : n.version === 0));
  }
  for (const [name, ep] of Object.entries(t.endpoints)) {
    out[name] = g.nodes.filter((n) => n.type === 'Endpoint' && n.address === ep.address && n.port === ep.port);
  }
  const parent = new Map<string, string>();
  for (const e of g.edges) if (lineage(e)) parent.set(e.from, e.to);
  for (const [name, p] of Object.entries(t.processes)) {
    const units = new Set((out[p.under] ?? []).filter((n) => n.type === 'Unit').map((n) => n.id));
    out[name] = g.nodes.filter((n) => {
      if (n.type !== 'Process' || !p.exe.includes(basename(n.exe)) || (p.pid !== undefined && n.pid !== p.pid)) return false;
      const seen = new Set<string>();
      for (let at = parent.get(n.id); at !== undefined && !seen.has(at); at = parent.get(at)) {
        if (units.has(at)) return true;
        seen.add(at);
        if (byId.get(at)?.type !== 'Process') return false;
      }
      return false;
    });
  }
  return out;
}

/** The truth's edges that a graph (a view) does not hold, as "TYPE from to". */
export function missingEdges(view: Pick<SerializedGraph, 'edges'>, t: ShopTruth, names: Record<string, GraphNode[]>): string[] {
  const has = (type: string, from: GraphNode[], to: GraphNode[]) => view.edges.some((e) => e.type === type && from.some((f) => f.id === e.from) && to.some((x) => x.id === e.to));
  return t.edges.filter(([type, from, to]) => !has(type, names[from] ?? [], names[to] ?? [])).map((e) => e.join(' '));
}
