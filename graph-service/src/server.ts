import Fastify, { type FastifyInstance } from 'fastify';
import { FaasprovError } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { AgentTokens, collectorPlugin, CollectorMetrics } from '@faasprov/collector';
import { traceRoutes } from './routes/trace.js';
import { graphRoutes } from './routes/graph.js';

export interface ServerOptions {
  store: GraphStore;
  /** Largest request body in bytes (batches included). */
  bodyLimit?: number;
  logger?: boolean;
  /** Serve the collector's ingest route too (faasprov up, faasprov run). */
  collector?: boolean;
  /** Agent tokens for the ingest route; undefined: no authentication (--no-auth). */
  tokens?: AgentTokens;
}

/** The graph service: queries over one store, and (embedded mode) the collector beside it. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 });
  app.setErrorHandler((err: FastifyErrorLike, req, reply) => {
    if (err instanceof FaasprovError) {
      return reply.status(err.statusCode ?? 500).send({ code: err.code, message: err.message });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error(err);
    return reply.status(status).send({ code: err.code ?? 'FP_ERR_INTERNAL', message: status >= 500 ? 'internal error' : err.message });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  if (opts.collector !== false) {
    await app.register(collectorPlugin, { store: opts.store, metrics: new CollectorMetrics(), tokens: opts.tokens });
  }
  await app.register(traceRoutes, { store: opts.store });
  await app.register(graphRoutes, { store: opts.store });
  return app;
}

interface FastifyErrorLike extends Error {
  statusCode?: number;
  code?: string;
}
