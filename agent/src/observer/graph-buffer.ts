import { batchHash, edgeId, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode } from '@faasprov/model';

/**
 * Collects nodes and edges until the next batch is cut. Edges with the same id collapse
 * (counts and bytes add up, times widen); every edge's endpoints ride in the same batch,
 * so each batch is self-contained and can be applied alone.
 */
export class GraphBuffer {
  private nodes = new Map<string, GraphNode>();
  private edges = new Map<string, GraphEdge>();
  /** Every node id this buffer has ever held (faasprov run prints its own graph); off in the daemon. */
  readonly seen = new Set<string>();

  constructor(private readonly remember = true) {}

  /**
   * Two views of one node merge: the later one's values win, and what only the earlier one knew is
   * kept (a reader's view of a file version must never drop the writer's tenant).
   */
  upsertNode(n: GraphNode): void {
    const old = this.nodes.get(n.id);
    if (old !== undefined && old !== n) {
      const into = n as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(old)) if (!(k in into)) into[k] = v;
    }
    this.nodes.set(n.id, n);
    if (this.remember) this.seen.add(n.id);
  }

  /** Events (edges) buffered, for loss accounting when a batch cannot be kept. */
  get edgeCount(): number {
    let n = 0;
    for (const e of this.edges.values()) n += e.count;
    return n;
  }

  addEdge(type: EdgeType, from: GraphNode, to: GraphNode, firstTime: number, lastTime: number, count: number, bytes: number, attrs?: EdgeAttrs): void {
    if (count < 1) return;
    // Keyed by the ids themselves: the edge's hashed id is computed once per batch, not per event.
    const key = `${type}\n${from.id}\n${to.id}`;
    this.upsertNode(from);
    this.upsertNode(to);
    const e = this.edges.get(key);
    if (e) {
      e.firstTime = Math.min(e.firstTime, firstTime);
      e.lastTime = Math.max(e.lastTime, lastTime);
      e.count += count;
      e.bytes += bytes;
      if (attrs) e.attrs = { ...e.attrs, ...attrs };
    } else {
      const e: GraphEdge = { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime, lastTime: Math.max(firstTime, lastTime), count, bytes };
      if (attrs) e.attrs = { ...attrs };
      this.edges.set(key, e);
    }
  }

  get size(): { nodes: number; edges: number } {
    return { nodes: this.nodes.size, edges: this.edges.size };
  }

  isEmpty(): boolean {
    return this.nodes.size === 0 && this.edges.size === 0;
  }

  /** Cuts a batch of what is buffered and starts afresh. */
  cut(agent: string, seq: number, prev?: string): Batch {
    const b: Batch = {
      agent,
      seq,
      sentAt: Date.now() * 1000,
      nodes: [...this.nodes.values()].map((n) => structuredClone(n)),
      edges: [...this.edges.values()],
    };
    if (prev !== undefined) {
      b.prev = prev;
      b.hash = batchHash(b);
    }
    this.nodes = new Map();
    this.edges = new Map();
    return b;
  }
}
