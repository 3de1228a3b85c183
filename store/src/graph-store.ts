import type { Batch, EdgeType, GraphEdge, GraphNode, NodeType, SerializedGraph } from '@faasprov/model';

export type Direction = 'backward' | 'forward';

/** A frontier entry: a node and the time bound (µs) its expansion must respect. */
export interface FrontierEntry {
  id: string;
  bound: number;
}

/**
 * Only edges of this type, only to neighbours of this type: left out by the store, where the data
 * is (a hub such as an instance has one edge per invocation, which a caller after its processes
 * would otherwise be sent and drop).
 */
export interface ExpandOnly {
  edge?: EdgeType;
  neighbor?: NodeType;
}

/** One step of an expansion: the edge followed and the node it reached. */
export interface ExpandStep {
  via: string; // the frontier node expanded
  edge: GraphEdge;
  neighbor: string;
}

/** A whole trace, asked of a store that can walk it where the data is (graph-service's trace.ts). */
export interface WalkRequest {
  start: string;
  direction: Direction;
  maxDepth: number;
  maxNodes: number;
  /** The time window (µs): edges outside it are not followed. */
  since: number;
  until: number;
  /** The tenants whose nodes are expanded (model/tenancy.ts); absent: every tenant. */
  tenants?: readonly string[];
}

/** What a walk reached, before trace.ts redacts boundary nodes and finds where the trace ends. */
export interface WalkResult {
  /** Every node reached, the start among them; full: the asker may see and expand it (else a boundary). */
  nodes: { node: GraphNode; full: boolean }[];
  /** Every edge followed, along its direction or across it (PART_OF into an invocation's other side). */
  steps: { edge: GraphEdge; across: boolean }[];
  /** Stopped by maxNodes, or by maxDepth with nodes still to expand. */
  truncated: boolean;
}

export interface ApplyResult {
  /** false when (agent, seq) was stored before: the batch changed nothing. */
  applied: boolean;
  nodes: number;
  edges: number;
}

/** A stored batch, for the collector's hash-chain check. */
export interface BatchInfo {
  seq: number;
  hash?: string;
  prev?: string;
}

/** A node search: every field optional; text is a case-insensitive substring of a node's name. */
export interface NodeQuery {
  type?: string;
  /** Matched against path, address, exe, function and cause. */
  text?: string;
  function?: string;
  /** The node's time (process start, file version, gap start…) in [since, until], µs. */
  since?: number;
  until?: number;
  limit: number;
  offset: number;
  /** Only these tenants' nodes and shared entities (model/tenancy.ts); absent: every node. */
  tenants?: string[];
}

/** A read of an F3 file version made on another node than the one the reader ran on (locality). */
export interface RemoteRead {
  /** The reading activity (a unit of an invocation, or a process outside any invocation). */
  reader: GraphNode;
  /** The invocation the reader's unit belongs to, when it is a unit. */
  invocation?: GraphNode;
  file: GraphNode;
  /** The activity that made the version. */
  producer: GraphNode;
  producedOn: string;
  readOn: string;
  /** First read (µs). */
  readAt: number;
  readWhileWrite: boolean;
}

export interface RemoteReadQuery {
  since?: number;
  until?: number;
  limit: number;
  /** Only readers of these tenants; absent: every reader. */
  tenants?: string[];
}

export interface AlertQuery {
  since?: number;
  until?: number;
  /** At least this severity. */
  minSeverity?: 'low' | 'medium' | 'high' | 'critical';
  function?: string;
  limit: number;
  offset: number;
  tenants?: string[];
}

export interface StoreStats {
  nodes: number;
  edges: number;
  batches: number;
  nodesByType: Record<string, number>;
}

/**
 * The one interface every store implements. The trace algorithms above it are shared,
 * so every store answers the same query identically. Asynchronous, since a store may be remote.
 */
export interface GraphStore {
  /** Applies a validated batch in one transaction; dedupes by (agent, seq). */
  applyBatch(batch: Batch): Promise<ApplyResult>;
  /** The batch (agent, seq), or the agent's latest when seq is omitted. */
  batchInfo(agent: string, seq?: number): Promise<BatchInfo | undefined>;
  getNodes(ids: readonly string[]): Promise<GraphNode[]>;
  /** Nodes matching a query, ordered by id, one page at a time. */
  searchNodes(q: NodeQuery): Promise<GraphNode[]>;
  /**
   * Follows the edges that could have carried an effect, one hop from every frontier entry.
   * backward: outgoing PROV edges whose firstTime <= bound; forward: incoming edges whose
   * lastTime >= bound. With only, just the steps that match it.
   */
  expand(frontier: readonly FrontierEntry[], direction: Direction, only?: ExpandOnly): Promise<ExpandStep[]>;
  /**
   * Optional: the whole trace in one request (or a bounded number), for a store where each
   * expand is a round trip. Must answer exactly what trace.ts's walk over expand answers;
   * undefined when the start node does not exist.
   */
  walk?(req: WalkRequest): Promise<WalkResult | undefined>;
  /** Nodes with these ids and the edges between them. */
  subgraph(ids: readonly string[]): Promise<SerializedGraph>;
  /** Every node and edge (small stores, exports). */
  all(): Promise<SerializedGraph>;
  stats(): Promise<StoreStats>;
  /** The newest version (µs) of an F3 file made at or before time, if any is stored. */
  fileVersionAt(volume: string, path: string, time: number): Promise<number | undefined>;
  /** Alerts, newest first. */
  alerts(q: AlertQuery): Promise<GraphNode[]>;
  /** Reads of F3 file versions produced on another node, oldest first. */
  remoteReads(q: RemoteReadQuery): Promise<RemoteRead[]>;
  close(): Promise<void>;
}
