import { Type, type Static } from '@sinclair/typebox';
import { createHash } from 'node:crypto';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  GraphEdge,
  NODE_SCHEMAS,
  MAX_INT,
  NODE_TYPES,
  edgeIdOnce,
  edgeKindError,
  expectedNodeId,
  type GraphNode,
  type NodeType,
} from './graph.js';
import { FaasprovError, ModelErrors } from './errors.js';

export const MAX_BATCH_NODES = 20000;
export const MAX_BATCH_EDGES = 40000;

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** What an agent ships: self-contained (every edge's endpoints are nodes of the same batch). */
export const BatchEnvelope = Type.Object(
  {
    agent: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
    seq: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    sentAt: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    /** Hash chain: the previous batch's hash, and this batch's (see batchHash). */
    prev: Type.Optional(Hash),
    hash: Type.Optional(Hash),
    nodes: Type.Array(Type.Object({ type: Type.String() }), { maxItems: MAX_BATCH_NODES }),
    edges: Type.Array(Type.Unknown(), { maxItems: MAX_BATCH_EDGES }),
  },
  { additionalProperties: false },
);

export interface Batch {
  agent: string;
  seq: number;
  sentAt?: number;
  prev?: string;
  hash?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}
export type BatchEnvelope = Static<typeof BatchEnvelope>;

const envelopeCheck = TypeCompiler.Compile(BatchEnvelope);
const edgeCheck = TypeCompiler.Compile(GraphEdge);
type Check = { Check(value: unknown): boolean; Errors(value: unknown): { First(): { path: string; message: string } | undefined } };
const nodeChecks: Record<NodeType, Check> = {
  Process: TypeCompiler.Compile(NODE_SCHEMAS.Process),
  File: TypeCompiler.Compile(NODE_SCHEMAS.File),
  Endpoint: TypeCompiler.Compile(NODE_SCHEMAS.Endpoint),
  Gap: TypeCompiler.Compile(NODE_SCHEMAS.Gap),
  Instance: TypeCompiler.Compile(NODE_SCHEMAS.Instance),
  Pipe: TypeCompiler.Compile(NODE_SCHEMAS.Pipe),
  Connection: TypeCompiler.Compile(NODE_SCHEMAS.Connection),
  Invocation: TypeCompiler.Compile(NODE_SCHEMAS.Invocation),
  Unit: TypeCompiler.Compile(NODE_SCHEMAS.Unit),
  GpuBuffer: TypeCompiler.Compile(NODE_SCHEMAS.GpuBuffer),
  GpuKernel: TypeCompiler.Compile(NODE_SCHEMAS.GpuKernel),
  Alert: TypeCompiler.Compile(NODE_SCHEMAS.Alert),
  Span: TypeCompiler.Compile(NODE_SCHEMAS.Span),
};

function firstError(check: Check, value: unknown, base: string): FaasprovError | undefined {
  // The compiled check is fast; walking for the error is not, and only a bad batch needs it.
  if (check.Check(value)) return undefined;
  const err = check.Errors(value).First();
  if (!err) return undefined;
  const where = `${base}${err.path}` || '/';
  return ModelErrors.FP_ERR_BATCH_INVALID(where.replace(/^\//, ''), err.message);
}

/**
 * Validates a batch fully: shape, per-type node schemas, ids against natural keys,
 * edge endpoints and PROV direction. Throws a FaasprovError naming the first bad field.
 */
export function parseBatch(value: unknown): Batch {
  const e0 = firstError(envelopeCheck, value, '');
  if (e0) throw e0;
  const b = value as BatchEnvelope;
  const types = new Map<string, NodeType>();
  b.nodes.forEach((n, i) => {
    const t = n.type as NodeType;
    if (!NODE_TYPES.includes(t)) {
      throw ModelErrors.FP_ERR_BATCH_INVALID(`nodes/${i}/type`, `must be one of ${NODE_TYPES.join(', ')}`);
    }
    const e = firstError(nodeChecks[t], n, `/nodes/${i}`);
    if (e) throw e;
    const node = n as GraphNode;
    if (expectedNodeId(node) !== node.id) throw ModelErrors.FP_ERR_ID_MISMATCH(`nodes/${i}/id`);
    types.set(node.id, t);
  });
  b.edges.forEach((ed, i) => {
    const e = firstError(edgeCheck, ed, `/edges/${i}`);
    if (e) throw e;
    const edge = ed as GraphEdge;
    const from = types.get(edge.from);
    const to = types.get(edge.to);
    if (!from) throw ModelErrors.FP_ERR_DANGLING_EDGE(`edges/${i}/from`, edge.from);
    if (!to) throw ModelErrors.FP_ERR_DANGLING_EDGE(`edges/${i}/to`, edge.to);
    const kind = edgeKindError(edge.type, from, to);
    if (kind) throw ModelErrors.FP_ERR_EDGE_KIND(`edges/${i}/type`, kind);
    // Not through hashId's cache: at a collector nearly every edge id is new (units', invocations'),
    // and the misses cost twice the hash (2.1 against 1.0 µs an edge on the shop's batches).
    if (edge.id !== edgeIdOnce(edge.type, edge.from, edge.to)) throw ModelErrors.FP_ERR_ID_MISMATCH(`edges/${i}/id`);
    if (edge.lastTime < edge.firstTime) {
      throw ModelErrors.FP_ERR_BATCH_INVALID(`edges/${i}/lastTime`, 'must not be before firstTime');
    }
  });
  return value as Batch;
}

/** The hash that chains a batch to its predecessor: over everything but sentAt and hash itself. */
export function batchHash(b: Pick<Batch, 'agent' | 'seq' | 'prev' | 'nodes' | 'edges'>): string {
  return batchHashOfItems(b.agent, b.seq, b.prev, b.nodes.map((n) => JSON.stringify(n)).join(','), b.edges.map((e) => JSON.stringify(e)).join(','));
}

/**
 * The hash over JSON.stringify([agent, seq, prev, nodes, edges]), from the arrays' items (each
 * array's JSON without its brackets: its items' JSON joined by commas), for a caller that has
 * each node's and edge's JSON already (the agent builds a batch's line from them). Hashed piece by
 * piece: the text is never put together first, which cost a copy of a whole batch.
 */
export function batchHashOfItems(agent: string, seq: number, prev: string | undefined, nodeItems: string, edgeItems: string): string {
  return createHash('sha256')
    .update(`[${JSON.stringify(agent)},${JSON.stringify(seq)},${JSON.stringify(prev ?? '')},[`)
    .update(nodeItems)
    .update('],[')
    .update(edgeItems)
    .update(']]')
    .digest('hex');
}

/** The hash of "no previous batch": the start of every agent's chain. */
export const GENESIS_HASH = '0'.repeat(64);
