import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { applyBatch } from './apply.js';
import { CollectorMetrics } from './metrics.js';
import { AgentTokens, AuthErrors } from './auth.js';

export interface CollectorPluginOptions {
  store: GraphStore;
  metrics?: CollectorMetrics;
  /** Agent tokens; undefined only where the operator chose --no-auth. */
  tokens?: AgentTokens;
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
  app.post(
    '/v1/batches',
    {
      schema: {
        summary: 'Ingest one agent batch',
        // The body is validated in applyBatch (shared with every transport), not here.
        response: { 200: Ack },
      },
    },
    async (req) => {
      if (opts.tokens) {
        const h = req.headers.authorization;
        const name = opts.tokens.identify(h?.startsWith('Bearer ') ? h.slice(7) : undefined);
        if (!name) {
          metrics.unauthorized++;
          throw AuthErrors.FP_ERR_UNAUTHORIZED();
        }
        const agent = (req.body as { agent?: unknown } | null)?.agent;
        if (typeof agent === 'string' && !AgentTokens.admits(name, agent)) {
          metrics.unauthorized++;
          throw AuthErrors.FP_ERR_WRONG_AGENT(agent, name);
        }
      }
      const r = await applyBatch(opts.store, req.body, metrics);
      const b = req.body as { agent: string; seq: number };
      return { status: r.status, agent: b.agent, seq: b.seq, nodes: r.nodes, edges: r.edges };
    },
  );
  app.get('/v1/collector/metrics', async () => metrics);
};
