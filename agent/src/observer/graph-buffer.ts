import { MAX_BATCH_EDGES, MAX_BATCH_NODES, batchHash, batchHashOfItems, edgeIdOnce, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode } from '@faasprov/model';

/** A cut batch and its JSON (JSON.stringify(batch), made from pieces serialized once). */
export interface CutBatch {
  batch: Batch;
  json: string;
}

/** Edges by from id, then to id: the edge, or the edges of several types between the two (rare). */
type EdgeIndex = Map<string, Map<string, GraphEdge | GraphEdge[]>>;

/** The edge of this type among those an index holds between two nodes. */
function ofType(v: GraphEdge | GraphEdge[] | undefined, type: EdgeType): GraphEdge | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return v.type === type ? v : undefined;
  for (const e of v) if (e.type === type) return e;
  return undefined;
}

/** Ids and edge types as the model makes them: JSON writes them as they are, between quotes. */
const PLAIN = /^[\w-]*$/;

/**
 * JSON.stringify(e) for an edge made by addEdge (its keys in that literal's order, attrs last),
 * written directly: the generic walk took most of a cut's time. Anything unusual (an id JSON
 * would escape, a number that is not finite) goes the generic way.
 */
export function edgeJson(e: GraphEdge): string {
  if (!(PLAIN.test(e.id) && PLAIN.test(e.type) && PLAIN.test(e.from) && PLAIN.test(e.to))) return JSON.stringify(e);
  if (!(Number.isFinite(e.firstTime) && Number.isFinite(e.lastTime) && Number.isFinite(e.count) && Number.isFinite(e.bytes))) return JSON.stringify(e);
  const head = `{"id":"${e.id}","type":"${e.type}","from":"${e.from}","to":"${e.to}","firstTime":${e.firstTime},"lastTime":${e.lastTime},"count":${e.count},"bytes":${e.bytes}`;
  return e.attrs === undefined ? `${head}}` : `${head},"attrs":${JSON.stringify(e.attrs)}}`;
}

/** Room left in a batch for its envelope (agent, seq, sentAt, prev, hash and the JSON around them). */
const ENVELOPE_BYTES = 1024;

/**
 * Collects nodes and edges until the next batch is cut. Edges with the same id collapse
 * (counts and bytes add up, times widen); every edge's endpoints ride in the same batch,
 * so each batch is self-contained and can be applied alone.
 */
export class GraphBuffer {
  private nodes = new Map<string, GraphNode>();
  /** Edges in the order they were first added (the batch's order). */
  private edges: GraphEdge[] = [];
  /**
   * The same edges by from id and to id: Maps keyed by strings the caller already holds (node
   * ids), so a repeated edge builds no key string and hashes none.
   */
  private edgeIndex: EdgeIndex = new Map();
  /** The last cut's index: an edge that comes back in the next batch keeps its id without a hash. */
  private lastIndex: EdgeIndex = new Map();
  /** Every node id this buffer has ever held (faasprov run prints its own graph); off in the daemon. */
  readonly seen = new Set<string>();

  constructor(private readonly remember = true) {}

  /**
   * Two views of one node merge: the later one's values win, and what only the earlier one knew is
   * kept (a reader's view of a file version must never drop the writer's tenant).
   */
  upsertNode(n: GraphNode): void {
    const old = this.nodes.get(n.id);
    // The object already held (a process, a unit): nothing to merge or store.
    if (old === n) return;
    if (old !== undefined) {
      const into = n as unknown as Record<string, unknown>;
      const from = old as unknown as Record<string, unknown>;
      // for-in over a plain object: its own keys in Object.entries' order, without the array.
      for (const k in from) if (!(k in into)) into[k] = from[k];
    }
    this.nodes.set(n.id, n);
    if (this.remember) this.seen.add(n.id);
  }

  /** Events (edges) buffered, for loss accounting when a batch cannot be kept. */
  get edgeCount(): number {
    let n = 0;
    for (const e of this.edges) n += e.count;
    return n;
  }

  addEdge(type: EdgeType, from: GraphNode, to: GraphNode, firstTime: number, lastTime: number, count: number, bytes: number, attrs?: EdgeAttrs): void {
    if (count < 1) return;
    this.upsertNode(from);
    this.upsertNode(to);
    let byTo = this.edgeIndex.get(from.id);
    if (byTo === undefined) this.edgeIndex.set(from.id, (byTo = new Map()));
    const there = byTo.get(to.id);
    const e = ofType(there, type);
    if (e) {
      e.firstTime = Math.min(e.firstTime, firstTime);
      e.lastTime = Math.max(e.lastTime, lastTime);
      e.count += count;
      e.bytes += bytes;
      if (attrs) e.attrs = { ...e.attrs, ...attrs };
    } else {
      // Most edges are new (a unit's); one of the last batch keeps the id it had.
      const id = ofType(this.lastIndex.get(from.id)?.get(to.id), type)?.id ?? edgeIdOnce(type, from.id, to.id);
      const e: GraphEdge = { id, type, from: from.id, to: to.id, firstTime, lastTime: Math.max(firstTime, lastTime), count, bytes };
      if (attrs) e.attrs = { ...attrs };
      if (there === undefined) byTo.set(to.id, e);
      else if (Array.isArray(there)) there.push(e);
      else byTo.set(to.id, [there, e]);
      this.edges.push(e);
    }
  }

  get size(): { nodes: number; edges: number } {
    return { nodes: this.nodes.size, edges: this.edges.length };
  }

  isEmpty(): boolean {
    return this.nodes.size === 0 && this.edges.length === 0;
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
    const edges = this.edges;
    const edgeJsons = edges.map(edgeJson);
    // The usual case: everything fits in one batch, with no edge-by-edge placement. A UTF-16
    // unit is at most 3 UTF-8 bytes: bytes are counted only when the text might not fit.
    let chars = 0;
    for (const j of edgeJsons) chars += j.length + 1;
    for (const id of this.nodes.keys()) chars += jsonOf(id).length + 1;
    let fits = chars * 3 <= budget;
    if (!fits) {
      let total = 0;
      for (const j of edgeJsons) total += Buffer.byteLength(j) + 1;
      for (const id of this.nodes.keys()) total += sizeOf(id);
      fits = total <= budget;
    }
    if (fits && edges.length <= MAX_BATCH_EDGES && this.nodes.size <= MAX_BATCH_NODES) {
      if (edges.length > 0 || this.nodes.size > 0) parts.push({ nodes: new Set(this.nodes.keys()), edges, edgeJson: edgeJsons });
    } else {
      edges.forEach((e, i) => put(e.from === e.to ? [e.from] : [e.from, e.to], e, edgeJsons[i]));
      for (const id of this.nodes.keys()) if (!placed.has(id)) put([id], undefined, undefined);
      if (cur.nodes.size > 0 || cur.edges.length > 0) parts.push(cur);
    }
    const sentAt = Date.now() * 1000;
    const out = parts.map((p, i) => {
      const ids = [...p.nodes];
      const nodeItems = ids.map(jsonOf).join(',');
      const edgeItems = p.edgeJson.join(',');
      const b: Batch = { agent, seq: seq + i, sentAt, nodes: ids.map((id) => this.nodes.get(id)!), edges: p.edges };
      b.prev = prev;
      b.hash = batchHashOfItems(agent, b.seq, prev, nodeItems, edgeItems);
      // The key order of the object above: JSON.stringify(b) writes the same text.
      const json = `{"agent":${JSON.stringify(agent)},"seq":${JSON.stringify(b.seq)},"sentAt":${JSON.stringify(sentAt)},"nodes":[${nodeItems}],"edges":[${edgeItems}],"prev":${JSON.stringify(prev)},"hash":${JSON.stringify(b.hash)}}`;
      prev = b.hash;
      return { batch: b, json };
    });
    this.nodes = new Map();
    this.edges = [];
    this.lastIndex = this.edgeIndex;
    this.edgeIndex = new Map();
    return out;
  }

  /** Cuts a batch of what is buffered and starts afresh. */
  cut(agent: string, seq: number, prev?: string): Batch {
    const b: Batch = {
      agent,
      seq,
      sentAt: Date.now() * 1000,
      nodes: [...this.nodes.values()].map((n) => structuredClone(n)),
      edges: this.edges,
    };
    if (prev !== undefined) {
      b.prev = prev;
      b.hash = batchHash(b);
    }
    this.nodes = new Map();
    this.edges = [];
    this.lastIndex = this.edgeIndex;
    this.edgeIndex = new Map();
    return b;
  }
}
