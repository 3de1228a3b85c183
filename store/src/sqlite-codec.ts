import { PREFIX, type EdgeType, type GraphEdge, type NodeType } from '@faasprov/model';

// How the SQLite store writes ids and types (schema 3): an id `pre_<32 hex>` is stored as the
// prefix and `_` in ASCII and the hash's 16 bytes (18-21 bytes instead of 34-37 characters, in the
// table and in every index that repeats it; blobs sort as the id strings do), and a type as a
// small integer. The codes are on
// disk: never renumber one, only add.

export const NODE_CODE: Readonly<Record<NodeType, number>> = {
  Process: 1, File: 2, Endpoint: 3, Gap: 4, Instance: 5, Pipe: 6, Connection: 7, Invocation: 8, Unit: 9, GpuBuffer: 10, GpuKernel: 11, Alert: 12, Span: 13,
};
export const EDGE_CODE: Readonly<Record<EdgeType, number>> = {
  USED: 1, WAS_GENERATED_BY: 2, WAS_INFORMED_BY: 3, WAS_INVALIDATED_BY: 4, WAS_ASSOCIATED_WITH: 5, WAS_ATTRIBUTED_TO: 6, PART_OF: 7, CONCERNS: 8, WAS_DERIVED_FROM: 9,
};
const NODE_NAME = new Map(Object.entries(NODE_CODE).map(([k, v]) => [v, k as NodeType]));
const EDGE_NAME = new Map(Object.entries(EDGE_CODE).map(([k, v]) => [v, k as EdgeType]));

export function nodeTypeOf(code: number): NodeType {
  const t = NODE_NAME.get(code);
  if (!t) throw new Error(`sqlite store: unknown node type code ${code}`);
  return t;
}

export function edgeTypeOf(code: number): EdgeType {
  const t = EDGE_NAME.get(code);
  if (!t) throw new Error(`sqlite store: unknown edge type code ${code}`);
  return t;
}

const HASH_BYTES = 16;
const MODEL_ID = /^[a-z]{1,4}_[0-9a-f]{32}$/;
const EDGE_ID = /^e_[0-9a-f]{32}$/;
/** Marks an id outside the model's pattern (asked of the store, or bulk-loaded), kept as UTF-8. */
const OTHER = 0xff;

/** The stored form of an id: `pre_` in ASCII and the hash's 16 bytes (ingest checks the pattern). */
export function encodeId(id: string): Buffer {
  if (!MODEL_ID.test(id)) return Buffer.concat([Buffer.of(OTHER), Buffer.from(id, 'utf8')]);
  const cut = id.length - 2 * HASH_BYTES;
  const b = Buffer.allocUnsafe(cut + HASH_BYTES);
  b.write(id.slice(0, cut), 0, 'latin1');
  b.write(id.slice(cut), cut, 'hex');
  return b;
}

/**
 * The stored ids of a node type lie in [lo, hi): its prefix, then `_` (and '`' is the byte after
 * `_`), so the id index is also the type index. Ids outside the model's pattern (bulk-loaded) lie
 * at OTHER and above, whatever their type.
 */
export function typeRange(type: NodeType): [Buffer, Buffer] {
  return [Buffer.from(`${PREFIX[type]}_`, 'latin1'), Buffer.from(`${PREFIX[type]}\``, 'latin1')];
}
export const OTHER_IDS = Buffer.of(OTHER);

/** The stored id as hex, for ids passed in a JSON array (unhex() in SQL). */
export function idHex(id: string): string {
  return encodeId(id).toString('hex');
}

export function decodeId(b: Buffer): string {
  if (b[0] === OTHER) return b.toString('utf8', 1);
  const cut = b.length - HASH_BYTES;
  return `${b.toString('latin1', 0, cut)}${b.toString('hex', cut)}`;
}

/** Edge ids are `e_<hash>` (ingest checks they are the hash of type, from and to): the hash alone is stored. */
export function encodeEdgeId(id: string): Buffer {
  if (EDGE_ID.test(id)) return Buffer.from(id.slice(2), 'hex');
  // Never 16 bytes long, which is a hash's length.
  const other = Buffer.concat([Buffer.of(OTHER), Buffer.from(id, 'utf8')]);
  return other.length === HASH_BYTES ? Buffer.concat([other, Buffer.of(OTHER)]) : other;
}

export function decodeEdgeId(b: Buffer): string {
  if (b.length === HASH_BYTES) return `e_${b.toString('hex')}`;
  return b.toString('utf8', 1, b.length === HASH_BYTES + 1 && b[HASH_BYTES] === OTHER ? HASH_BYTES : b.length);
}

/** A stored edge row. */
export interface StoredEdge {
  id: Buffer;
  type: number;
  src: Buffer;
  dst: Buffer;
  first_time: number;
  last_time: number;
  count: number;
  bytes: number;
  attrs: string | null;
}

export function toEdge(r: StoredEdge): GraphEdge {
  const e: GraphEdge = {
    id: decodeEdgeId(r.id),
    type: edgeTypeOf(r.type),
    from: decodeId(r.src),
    to: decodeId(r.dst),
    firstTime: r.first_time,
    lastTime: r.last_time,
    count: r.count,
    bytes: r.bytes,
  };
  if (r.attrs) e.attrs = JSON.parse(r.attrs) as GraphEdge['attrs'];
  return e;
}
