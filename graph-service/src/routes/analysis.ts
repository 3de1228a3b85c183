import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Neo4jGraphStore, type GraphStore } from '@faasprov/store';
import { AuthErrors, type ApiKeys } from '@faasprov/collector';
import { findPath } from '../queries/paths.js';
import { timeline } from '../queries/timeline.js';
import { GraphErrors } from '../errors.js';
import { ErrorReply, NodeId, Time } from './schemas.js';

const PathQuery = Type.Object({ from: NodeId, to: NodeId, maxDepth: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) });
const TimelineQuery = Type.Object({
  function: Type.String({ minLength: 1, maxLength: 253 }),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
});
const CypherBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 8192 }),
    params: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
  },
  { additionalProperties: false },
);

export interface AnalysisOptions {
  store: GraphStore;
  keys?: ApiKeys;
}

/** Paths between two nodes, a function's timeline, and read-only Cypher for admins. */
export const analysisRoutes: FastifyPluginAsync<AnalysisOptions> = async (app, opts) => {
  app.get<{ Querystring: Static<typeof PathQuery> }>(
    '/api/v1/paths',
    { schema: { summary: 'One shortest time-respecting path from a cause to an effect', querystring: PathQuery, response: { 400: ErrorReply, 404: ErrorReply } } },
    async (req) => findPath(opts.store, req.query.from, req.query.to, { maxDepth: req.query.maxDepth, scope: req.scope }),
  );
  app.get<{ Querystring: Static<typeof TimelineQuery> }>(
    '/api/v1/timeline',
    { schema: { summary: "What a function's processes did, in time order", querystring: TimelineQuery, response: { 400: ErrorReply } } },
    async (req) => ({ entries: await timeline(opts.store, req.query.function, { ...req.query, scope: req.scope }) }),
  );
  app.post<{ Body: Static<typeof CypherBody> }>(
    '/api/v1/cypher',
    {
      bodyLimit: 16 * 1024,
      schema: { summary: 'Read-only Cypher (admins, Neo4j store): READ transaction, 10 s timeout, 1000 rows at most', body: CypherBody, response: { 400: ErrorReply, 403: ErrorReply, 501: ErrorReply } },
    },
    async (req) => {
      // The /api hook has authenticated the asker already.
      if (opts.keys && req.principal?.role !== 'admin') throw AuthErrors.FP_ERR_FORBIDDEN(req.principal?.role ?? 'none', 'run Cypher');
      if (!(opts.store instanceof Neo4jGraphStore)) throw GraphErrors.FP_ERR_NOT_SUPPORTED('Cypher');
      try {
        const rows = await opts.store.readCypher(req.body.query, req.body.params ?? {}, { timeoutMs: 10000, maxRows: 1000 });
        return { rows: [...rows], truncated: rows.truncated === true };
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (e.code?.startsWith('Neo.ClientError')) throw GraphErrors.FP_ERR_BAD_REQUEST(`cypher: ${(e.message ?? '').split('\n')[0]}`);
        throw err;
      }
    },
  );
};
