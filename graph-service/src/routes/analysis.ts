import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Neo4jGraphStore, type GraphStore } from '@faasprov/store';
import { AuthErrors, type ApiKeys } from '@faasprov/collector';
import { findPath } from '../queries/paths.js';
import { timeline } from '../queries/timeline.js';
import { GraphErrors } from '../errors.js';
import { cypherRefusal } from '../queries/cypher-policy.js';
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

/** The Cypher route's bounds: server-side timeout, rows, and bytes of JSON rows. */
export const CYPHER = { timeoutMs: 10000, maxRows: 1000, maxBytes: 4 * 1024 * 1024 };

export interface AnalysisOptions {
  store: GraphStore;
  keys?: ApiKeys;
  /** Overrides of the Cypher bounds (tests). */
  cypher?: Partial<typeof CYPHER>;
}

/** Paths between two nodes, a function's timeline, and read-only Cypher for admins. */
export const analysisRoutes: FastifyPluginAsync<AnalysisOptions> = async (app, opts) => {
  const bounds = { ...CYPHER, ...opts.cypher };
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
      schema: { summary: 'Read-only Cypher (all-tenant admins, Neo4j store): checked with EXPLAIN against an allow-list, 10 s timeout, 1000 rows and 4 MiB at most', body: CypherBody, response: { 400: ErrorReply, 403: ErrorReply, 408: ErrorReply, 413: ErrorReply, 501: ErrorReply } },
    },
    async (req) => {
      // The /api hook has authenticated the asker already. Cypher sees every tenant: only an all-tenant admin may run it.
      if (opts.keys && req.principal?.role !== 'admin') throw AuthErrors.FP_ERR_FORBIDDEN(req.principal?.role ?? 'none', 'run Cypher');
      if (opts.keys && req.principal?.tenants !== '*') throw GraphErrors.FP_ERR_CYPHER_REFUSED('an admin key scoped to tenants cannot run Cypher, which reads every tenant');
      if (!(opts.store instanceof Neo4jGraphStore)) throw GraphErrors.FP_ERR_NOT_SUPPORTED('Cypher');
      const params = req.body.params ?? {};
      try {
        // Checked before it runs: the plan must be a read of allowed operators and procedures.
        const refusal = cypherRefusal(await opts.store.explainCypher(req.body.query, params));
        if (refusal) throw GraphErrors.FP_ERR_CYPHER_REFUSED(refusal);
        const rows = await opts.store.readCypher(req.body.query, params, { timeoutMs: bounds.timeoutMs, maxRows: bounds.maxRows, maxBytes: bounds.maxBytes });
        if (rows.truncated === 'bytes' && rows.length === 0) throw GraphErrors.FP_ERR_CYPHER_TOO_LARGE(`the first row alone passes ${bounds.maxBytes} bytes`);
        return { rows: [...rows], truncated: rows.truncated !== undefined, ...(rows.truncated ? { truncatedBy: rows.truncated } : {}) };
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (e.code?.startsWith('Neo.ClientError.Transaction.TransactionTimedOut')) throw GraphErrors.FP_ERR_CYPHER_TIMEOUT(String(bounds.timeoutMs / 1000));
        if (e.code?.startsWith('Neo.ClientError')) throw GraphErrors.FP_ERR_BAD_REQUEST(`cypher: ${(e.message ?? '').split('\n')[0]}`);
        throw err;
      }
    },
  );
};
