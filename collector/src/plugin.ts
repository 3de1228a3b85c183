import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { applyBatch } from './apply.js';
import { CollectorMetrics } from './metrics.js';
import { AgentTokens, ApiKeys, AuthErrors, bearer, type Principal } from './auth.js';
import type { RuleEngine } from './rules/engine.js';

export interface CollectorPluginOptions {
  store: GraphStore;
  metrics?: CollectorMetrics;
  /** Who may ingest; undefined only where the operator chose --no-auth. */
  keys?: ApiKeys;
  /** Rules evaluated on every new batch; alerts commit with it. */
  rules?: RuleEngine;
  /** Authenticates reads of the store-wide counts (an onRequest hook); absent: they are open. */
  adminOnly?: (req: FastifyRequest) => Promise<void>;
}

const Ack = Type.Object({
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')]),
  agent: Type.String(),
  seq: Type.Integer(),
  nodes: Type.Integer(),
  edges: Type.Integer(),
});

/** POST /v1/batches: agents' batches over HTTP. Acknowledged only after the store commit. */
export const collectorPlugin: FastifyPluginAsync<CollectorPluginOptions> = async (app, opts) => {
  const metrics = opts.metrics ?? new CollectorMetrics();
  // Its own encapsulated context: the key is checked in onRequest, before the body is read, for
  // every spelling of the URL that reaches the route; which agent the batch names, in the handler.
  await app.register(async (ingest) => {
    const senders = new WeakMap<FastifyRequest, Principal>();
    ingest.addHook('onRequest', async (req) => {
      if (!opts.keys) return;
      const who = opts.keys.authenticate(bearer(req.headers.authorization));
      if (!who) {
        metrics.unauthorized++;
        throw AuthErrors.FP_ERR_UNAUTHORIZED();
      }
      // A batch may carry any tenant's facts: only agents and admins of every tenant send one.
      if (who.role === 'investigator' || (who.role === 'admin' && who.tenants !== '*')) {
        metrics.unauthorized++;
        throw AuthErrors.FP_ERR_FORBIDDEN(who.role === 'admin' ? 'admin (of some tenants)' : who.role, 'ingest batches');
      }
      senders.set(req, who);
    });
    ingest.post(
      '/v1/batches',
      {
        schema: {
          summary: 'Ingest one agent batch',
          // The body is validated in applyBatch (shared with every transport), not here.
          response: { 200: Ack },
        },
      },
      async (req) => {
        const who = senders.get(req);
        const agent = (req.body as { agent?: unknown } | null)?.agent;
        if (who?.role === 'agent' && typeof agent === 'string' && !AgentTokens.admits(who.name, agent)) {
          metrics.unauthorized++;
          throw AuthErrors.FP_ERR_WRONG_AGENT(agent, who.name);
        }
        const r = await applyBatch(opts.store, req.body, metrics, opts.rules);
        const b = req.body as { agent: string; seq: number };
        return { status: r.status, agent: b.agent, seq: b.seq, nodes: r.nodes, edges: r.edges };
      },
    );
  });
  // Its own encapsulated context: the hook guards the route whatever spelling of the URL matched it.
  await app.register(async (guarded) => {
    if (opts.adminOnly) guarded.addHook('onRequest', opts.adminOnly);
    guarded.get('/v1/collector/metrics', async () => metrics);
  });
};
