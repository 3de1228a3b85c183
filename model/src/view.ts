import type { GraphEdge, GraphNode } from './graph.js';

/**
 * Nodes folded together in a query's view, never stored (graph-service's attack view): context,
 * not a node of the view's graph. It hangs from the shown node `on` (a client draws it inside that
 * node); members lists what it holds, so a client can expand it from the view's `folded` part.
 */
export interface SummaryNode {
  id: string;
  type: 'Summary';
  /** Why these nodes were folded: a process's start-up, the function's baseline, system files, loopback peers, directories changed, requests received, responses sent, telemetry (spans, and the receiver's endpoint marked at capture), the gateway of calls drawn, later versions others appended. */
  kind: 'start-up' | 'baseline' | 'system' | 'peers' | 'directories' | 'requests' | 'responses' | 'spans' | 'calls' | 'later';
  /** What it holds, in words: `python3 start-up: 1 process, 109 files`. */
  label: string;
  members: string[];
  /** Members by node type. */
  holds: Record<string, number>;
  /** The shown node it is context of: the first in time that an edge links to a member. */
  on: string;
}

export type ViewNode = GraphNode | SummaryNode;

export interface ViewGraph {
  nodes: ViewNode[];
  edges: GraphEdge[];
}
