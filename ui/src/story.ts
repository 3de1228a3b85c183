import dagre from '@dagrejs/dagre';
import type { Graph, GraphEdge, GraphNode } from './api';
import { nodeName } from './labels';

/** GET /api/v1/trace?view=attack (graph-service/src/queries/attack-view.ts). */
export interface AttackView extends Graph {
  start: string;
  direction: 'backward' | 'forward';
  truncated: boolean;
  folded: Graph;
  steps: string[];
}

export const isSummary = (n: GraphNode) => n.type === 'Summary';
const MAX_LABEL = 56;

/** What a node says on the story graph: a summary its label, others their name, cut to a readable length. */
export function storyLabel(n: GraphNode): string {
  const full = isSummary(n) ? `${String(n.label)} (+)` : `${n.type === 'Invocation' || n.type === 'Alert' ? '' : `${n.type}: `}${nodeName(n)}`;
  if (full.length <= MAX_LABEL) return full;
  // A path says most at its end; a summary at its start.
  return isSummary(n) ? `${full.slice(0, MAX_LABEL - 5)}… (+)` : `…${full.slice(full.length - MAX_LABEL + 1)}`;
}

/**
 * The view with some summaries opened: their members come back from `folded`, and every edge is
 * drawn between what is shown (an end still folded goes to its summary), merged by type and ends.
 */
export function expandView(v: AttackView, open: ReadonlySet<string>): Graph {
  const summaries = v.nodes.filter(isSummary);
  const holder = new Map<string, string>();
  for (const s of summaries) if (!open.has(s.id)) for (const m of s.members as string[]) holder.set(m, s.id);
  const opened = new Set(summaries.filter((s) => open.has(s.id)).flatMap((s) => s.members as string[]));
  const nodes = [...v.nodes.filter((n) => !open.has(n.id)), ...v.folded.nodes.filter((n) => opened.has(n.id))];
  const shown = new Set(nodes.map((n) => n.id));
  const at = (id: string) => holder.get(id) ?? id;
  const edges = new Map<string, GraphEdge>();
  // The view's own edges between shown nodes, then the original edges of opened members.
  for (const e of [...v.edges, ...v.folded.edges]) {
    const [from, to] = [at(e.from), at(e.to)];
    if (from === to || !shown.has(from) || !shown.has(to)) continue;
    const key = `${e.type}\0${from}\0${to}`;
    if (!edges.has(key)) edges.set(key, { ...e, from, to });
  }
  return { nodes, edges: [...edges.values()] };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Left to right in causal order (PROV edges point from effect to cause, so each is laid out
 * cause → effect) by dagre. Every label sits inside its node's box, sized by measure(), and dagre
 * never overlaps boxes: labels never overlap.
 */
export function storyLayout(g: Graph, measure: (label: string) => number): { boxes: Map<string, Box>; edges: Map<string, { x: number; y: number }[]>; width: number; height: number } {
  const d = new dagre.graphlib.Graph({ multigraph: true });
  d.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 40, marginx: 16, marginy: 24 });
  d.setDefaultEdgeLabel(() => ({}));
  const sorted = [...g.nodes].sort((a, b) => a.id.localeCompare(b.id));
  for (const n of sorted) d.setNode(n.id, { width: Math.ceil(measure(storyLabel(n))) + 20, height: 26 });
  for (const e of [...g.edges].sort((a, b) => a.id.localeCompare(b.id))) d.setEdge(e.to, e.from, {}, e.id);
  dagre.layout(d);
  const boxes = new Map<string, Box>();
  for (const n of sorted) {
    const p = d.node(n.id);
    boxes.set(n.id, { x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height });
  }
  const edges = new Map<string, { x: number; y: number }[]>();
  for (const e of g.edges) edges.set(e.id, (d.edge({ v: e.to, w: e.from, name: e.id }) as { points?: { x: number; y: number }[] } | undefined)?.points ?? []);
  const gl = d.graph() as { width?: number; height?: number };
  return { boxes, edges, width: gl.width ?? 0, height: gl.height ?? 0 };
}
