import { MAX_BATCH_EDGES, MAX_BATCH_NODES, batchHash, batchHashOfJson, edgeId, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode } from '@faasprov/model';

/** A cut batch and its JSON (JSON.stringify(batch), made from pieces serialized once). */
export interface CutBatch {
  batch: Batch;
  json: string;
}

const EDGE_IDS_MAX = 50_000;

/** Room left in a batch for its envelope (agent, seq, sentAt, prev, hash and the JSON around them). */
const ENVELOPE_BYTES = 1024;

/**
 * Collects nodes and edges until the next batch is cut. Edges with the same id collapse
 * (counts and bytes add up, times widen); every edge's endpoints ride in the same batch,
 * so each batch is self-contained and can be applied alone.
 */
export class GraphBuffer {
  private nodes = new Map<string, GraphNode>();
  private edges = new Map<string, GraphEdge>();
  /** Edge ids by key, across cuts: the same edges come back batch after batch, each id a hash. */
  private readonly edgeIds = new Map<string, string>();
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
      let id = this.edgeIds.get(key);
      if (id === undefined) {
        // Wholesale clear, as hashId's cache: a miss costs one hash.
        if (this.edgeIds.size >= EDGE_IDS_MAX) this.edgeIds.clear();
        this.edgeIds.set(key, (id = edgeId(type, from.id, to.id)));
      }
      const e: GraphEdge = { id, type, from: from.id, to: to.id, firstTime, lastTime: Math.max(firstTime, lastTime), count, bytes };
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

  /**
   * Cuts what is buffered into batches whose JSON stays under maxBytes (a transport's message
   * limit) and under the collector's node and edge counts, numbered from seq and chained from prev, and starts afresh. Each batch stays
   * self-contained: an edge travels with both its nodes, so a node may ride in several batches.
   * One edge with its nodes larger than maxBytes still makes a batch of its own (the transport
   * refuses it and the agent records that as a Gap).
   *
   * Each batch comes with its JSON (what JSON.stringify(batch) writes: the spool's line and the
   * body sent), built from each node's and edge's JSON made once for the size bound, and hashed
   * from the same pieces. The batch's nodes are the buffer's own objects, as they were at the
   * cut: its JSON is the copy that is kept.
   */
  cutBounded(agent: string, seq: number, prev: string, maxBytes: number): CutBatch[] {
    const budget = maxBytes - ENVELOPE_BYTES;
    const nodeJson = new Map<string, string>();
    const jsonOf = (id: string) => {
      let j = nodeJson.get(id);
      if (j === undefined) nodeJson.set(id, (j = JSON.stringify(this.nodes.get(id))));
      return j;
    };
    const sizeOf = (id: string) => Buffer.byteLength(jsonOf(id)) + 1;
    const parts: { nodes: Set<string>; edges: GraphEdge[]; edgeJson: string[] }[] = [];
    let cur = { nodes: new Set<string>(), edges: [] as GraphEdge[], edgeJson: [] as string[] };
    let used = 0;
    const placed = new Set<string>();
    const put = (ids: string[], e: GraphEdge | undefined, ej: string | undefined) => {
      const extra = ej === undefined ? 0 : Buffer.byteLength(ej) + 1;
      let add = extra;
      for (const id of ids) if (!cur.nodes.has(id)) add += sizeOf(id);
      const full = used + add > budget || cur.edges.length >= MAX_BATCH_EDGES || cur.nodes.size + ids.length > MAX_BATCH_NODES;
      if (full && (cur.nodes.size > 0 || cur.edges.length > 0)) {
        parts.push(cur);
        cur = { nodes: new Set(), edges: [], edgeJson: [] };
        used = 0;
        add = extra;
        for (const id of ids) add += sizeOf(id);
      }
      for (const id of ids) {
        cur.nodes.add(id);
        placed.add(id);
      }
      if (e) {
        cur.edges.push(e);
        cur.edgeJson.push(ej!);
      }
      used += add;
    };
    const edges = [...this.edges.values()];
    const edgeJson = edges.map((e) => JSON.stringify(e));
    // The usual case: everything fits in one batch, with no edge-by-edge placement.
    let total = 0;
    for (const j of edgeJson) total += Buffer.byteLength(j) + 1;
    for (const id of this.nodes.keys()) total += sizeOf(id);
    if (total <= budget && edges.length <= MAX_BATCH_EDGES && this.nodes.size <= MAX_BATCH_NODES) {
      if (edges.length > 0 || this.nodes.size > 0) parts.push({ nodes: new Set(this.nodes.keys()), edges, edgeJson });
    } else {
      edges.forEach((e, i) => put(e.from === e.to ? [e.from] : [e.from, e.to], e, edgeJson[i]));
      for (const id of this.nodes.keys()) if (!placed.has(id)) put([id], undefined, undefined);
      if (cur.nodes.size > 0 || cur.edges.length > 0) parts.push(cur);
    }
    const sentAt = Date.now() * 1000;
    const out = parts.map((p, i) => {
      const ids = [...p.nodes];
      const nodesJson = `[${ids.map(jsonOf).join(',')}]`;
      const edgesJson = `[${p.edgeJson.join(',')}]`;
      const b: Batch = { agent, seq: seq + i, sentAt, nodes: ids.map((id) => this.nodes.get(id)!), edges: p.edges };
      b.prev = prev;
      b.hash = batchHashOfJson(agent, b.seq, prev, nodesJson, edgesJson);
      // The key order of the object above: JSON.stringify(b) writes the same text.
      const json = `{"agent":${JSON.stringify(agent)},"seq":${JSON.stringify(b.seq)},"sentAt":${JSON.stringify(sentAt)},"nodes":${nodesJson},"edges":${edgesJson},"prev":${JSON.stringify(prev)},"hash":${JSON.stringify(b.hash)}}`;
      prev = b.hash;
      return { batch: b, json };
    });
    this.nodes = new Map();
    this.edges = new Map();
    return out;
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
