import dagre from '@dagrejs/dagre';
import type { Graph, GraphEdge, GraphNode } from './api';
import { nodeName } from './labels';

/** A group of folded context (a process's start-up, the baseline, system files), hanging from the shown node `on`. */
export interface ContextGroup {
  id: string;
  type: 'Summary';
  kind: string;
  label: string;
  members: string[];
  on: string;
}

/** GET /api/v1/trace?view=attack (graph-service/src/queries/attack-view.ts). */
export interface AttackView extends Graph {
  start: string;
  direction: 'backward' | 'forward';
  truncated: boolean;
  context: ContextGroup[];
  folded: Graph;
  /** Nodes of the trace no data path links to the start: left out (Full provenance has them). */
  pruned: string[];
  steps: string[];
}

const MAX_LABEL = 56;

/** What a node says on the story graph: its name, cut to a readable length (a path says most at its end). */
export function storyLabel(n: GraphNode): string {
  const full = `${n.type === 'Invocation' || n.type === 'Alert' ? '' : `${n.type}: `}${nodeName(n)}`;
  return full.length <= MAX_LABEL ? full : `…${full.slice(full.length - MAX_LABEL + 1)}`;
}

/** What a closed context group says inside its node: its label (a summary says most at its start), and that it opens. */
export function contextLabel(c: ContextGroup): string {
  const full = `+ ${c.label}`;
  return full.length <= MAX_LABEL ? full : `${full.slice(0, MAX_LABEL - 1)}…`;
}

/** The story graph: shown nodes and edges, and the closed context groups inside each node. */
export interface StoryGraph extends Graph {
  context: Map<string, ContextGroup[]>;
}

/**
 * The view with some context groups opened: their members come back from `folded` as nodes, with
 * every edge between shown nodes (merged by type and ends); closed groups stay inside their node.
 */
export function expandView(v: AttackView, open: ReadonlySet<string>): StoryGraph {
  const opened = new Set(v.context.filter((c) => open.has(c.id)).flatMap((c) => c.members));
  const nodes = [...v.nodes, ...v.folded.nodes.filter((n) => opened.has(n.id))];
  const shown = new Set(nodes.map((n) => n.id));
  const edges = new Map<string, GraphEdge>();
  for (const e of [...v.edges, ...v.folded.edges]) {
    if (!shown.has(e.from) || !shown.has(e.to)) continue;
    const key = `${e.type}\0${e.from}\0${e.to}`;
    if (!edges.has(key)) edges.set(key, e);
  }
  const context = new Map<string, ContextGroup[]>();
  for (const c of v.context) if (!open.has(c.id)) context.set(c.on, [...(context.get(c.on) ?? []), c]);
  return { nodes, edges: [...edges.values()], context };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const LINE = 22;

/**
 * Left to right in causal order (PROV edges point from effect to cause, so each is laid out
 * cause → effect) by dagre. Every label, and every closed context group's label, sits inside its
 * node's box, sized by measure(), and dagre never overlaps boxes: labels never overlap.
 */
export function storyLayout(g: StoryGraph, measure: (label: string) => number): { boxes: Map<string, Box>; edges: Map<string, { x: number; y: number }[]>; width: number; height: number } {
  const d = new dagre.graphlib.Graph({ multigraph: true });
  d.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 40, marginx: 16, marginy: 24 });
  d.setDefaultEdgeLabel(() => ({}));
  const sorted = [...g.nodes].sort((a, b) => a.id.localeCompare(b.id));
  for (const n of sorted) {
    const inside = g.context.get(n.id) ?? [];
    const width = Math.max(measure(storyLabel(n)), ...inside.map((c) => measure(contextLabel(c)) + 12));
    d.setNode(n.id, { width: Math.ceil(width) + 20, height: 26 + inside.length * LINE });
  }
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
