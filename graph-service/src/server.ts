import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ALL_TENANTS, FaasprovError, type TenantScope } from '@faasprov/model';
import { strictIntegers } from './routes/strict-integers.js';
import type { GraphStore } from '@faasprov/store';
import { ApiKeys, AuthErrors, bearer, collectorPlugin, CollectorMetrics, type Principal, type RuleEngine } from '@faasprov/collector';
import rateLimit from '@fastify/rate-limit';
import cors from '@fastify/cors';
import { traceRoutes } from './routes/trace.js';
import { GraphErrors } from './errors.js';
import { graphRoutes } from './routes/graph.js';
import { analysisRoutes, type AnalysisOptions } from './routes/analysis.js';
import { localityRoutes } from './routes/locality.js';
import { alertRoutes } from './routes/alerts.js';
import { investigateRoutes } from './routes/investigate.js';

export interface ServerOptions {
  store: GraphStore;
  /** Largest request body in bytes (batches included). */
  bodyLimit?: number;
  logger?: boolean;
  /** Serve the collector's ingest route too (faasprov up, faasprov run). */
  collector?: boolean;
  /** Who may do what (agents ingest, investigators read, admins both); undefined: --no-auth. */
  keys?: ApiKeys;
  /** Requests per minute per key (or per address without one). */
  rateLimitPerMinute?: number;
  /** Allow browsers from this origin; CORS is off unless set. */
  corsOrigin?: string;
  /** Rules the collector evaluates on ingest (undefined: none). */
  rules?: RuleEngine;
  /** Overrides of the Cypher route's bounds (timeout, rows, bytes). */
  cypher?: AnalysisOptions['cypher'];
  /** The dashboard's built files (ui/dist), served at /; false: no dashboard. */
  uiDir?: string | false;
}

/** ui/dist beside this package, when the dashboard was built. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/dist', import.meta.url));

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenants the asker may see (set for /api routes). */
    scope: TenantScope;
    /** Who asks, once authenticated (undefined under --no-auth). */
    principal: Principal | undefined;
  }
}

/** The graph service: queries over one store, and (embedded mode) the collector beside it. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 });
  app.setErrorHandler((err: FastifyErrorLike, req, reply) => {
    if (err instanceof FaasprovError && (err.statusCode ?? 500) < 500) {
      return reply.status(err.statusCode!).send({ code: err.code, message: err.message });
    }
    // Schema violations name the field: "querystring/depth must be <= 100".
    if (err.validation) {
      const e = GraphErrors.FP_ERR_BAD_REQUEST(`${err.validationContext ?? 'request'}${err.message.replace(/^(querystring|params|body|headers)/, '')}`);
      return reply.status(400).send({ code: e.code, message: e.message });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.status(status).send({ code: err.code ?? GraphErrors.FP_ERR_BAD_REQUEST.code, message: err.message });
    // A 5xx names no internals (no SQLITE_*, no driver text): the log has them.
    req.log.error(err);
    return reply.status(status).send({ code: err instanceof FaasprovError ? err.code : GraphErrors.FP_ERR_INTERNAL.code, message: 'internal error (see the server log)' });
  });
  // One principal per request: the rate limiter keys on it and the auth hooks reuse it.
  const principals = new WeakMap<FastifyRequest, Principal | null>();
  const principalOf = (req: FastifyRequest): Principal | undefined => {
    if (!principals.has(req)) principals.set(req, opts.keys?.authenticate(bearer(req.headers.authorization)) ?? null);
    return principals.get(req) ?? undefined;
  };
  const max = opts.rateLimitPerMinute ?? 1200;
  await app.register(rateLimit, {
    global: false,
    max,
    timeWindow: '1 minute',
    // A known key has its own budget; no key or a wrong one shares its address's, so guessing keys is limited too.
    keyGenerator: (req) => {
      const who = principalOf(req);
      return who ? `key:${who.name}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, ctx) => GraphErrors.FP_ERR_RATE_LIMITED(String(ctx.max), ctx.after),
  });
  const limited = app.rateLimit();
  if (opts.corsOrigin) await app.register(cors, { origin: opts.corsOrigin });
  app.decorateRequest('scope', null as never);
  app.decorateRequest('principal', undefined);
  await app.register(swagger, {
    openapi: {
      info: { title: 'faasprov', version: '0.1.0', description: 'Forensic queries over the provenance graph, and agent ingest.' },
      // /docs can "Authorize" with a key: every route is described as taking one (those that need
      // none, /healthz and the docs, are hidden or outside the description).
      components: {
        securitySchemes: {
          bearerKey: { type: 'http', scheme: 'bearer', description: 'an API key (--api-keys) or, for ingest, an agent token: Authorization: Bearer KEY' },
        },
      },
      security: [{ bearerKey: [] }],
    },
  });
  // Needs no key, on purpose: liveness, the API description, the dashboard's static files.
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  if (opts.collector !== false) {
    const keys = opts.keys;
    // Ingest authenticates agents in its handler (the batch names the agent); store-wide ingest counts are for admins.
    await app.register(async (collector) => {
      collector.addHook('onRequest', limited);
      await collector.register(collectorPlugin, {
        store: opts.store, metrics: new CollectorMetrics(), keys, rules: opts.rules,
        adminOnly: async (req) => {
          if (!keys) return;
          const who = principalOf(req);
          if (!who) throw AuthErrors.FP_ERR_UNAUTHORIZED();
          if (who.role !== 'admin') throw AuthErrors.FP_ERR_FORBIDDEN(who.role, 'read collector metrics');
        },
      });
    });
  }
  // Every /api route lives inside this plugin: its hooks run for each of them, whatever spelling
  // of the URL the router matched, and a route cannot exist outside it.
  await app.register(async (api) => {
    api.addHook('onRequest', limited);
    api.addHook('onRequest', async (req) => {
      if (!opts.keys) {
        // --no-auth: the operator chose an open service.
        req.scope = ALL_TENANTS;
        return;
      }
      const who = principalOf(req);
      if (!who) throw AuthErrors.FP_ERR_UNAUTHORIZED();
      if (who.role === 'agent') throw AuthErrors.FP_ERR_FORBIDDEN(who.role, 'read the graph');
      req.principal = who;
      req.scope = who.tenants === '*' ? ALL_TENANTS : { all: false, tenants: new Set(who.tenants) };
    });
    api.addHook('preValidation', strictIntegers);
    await api.register(traceRoutes, { store: opts.store });
    await api.register(graphRoutes, { store: opts.store });
    await api.register(analysisRoutes, { store: opts.store, keys: opts.keys, cypher: opts.cypher });
    await api.register(localityRoutes, { store: opts.store });
    await api.register(alertRoutes, { store: opts.store });
    await api.register(investigateRoutes, { store: opts.store });
  });
  const ui = opts.uiDir === undefined ? DEFAULT_UI_DIR : opts.uiDir;
  if (ui && existsSync(join(ui, 'index.html'))) {
    // The dashboard is static; everything it shows comes through /api with the user's key.
    await app.register(fastifyStatic, { root: ui, prefix: '/', index: 'index.html', decorateReply: false });
    // The dashboard loads only its own files and talks only to this origin.
    app.addHook('onSend', async (req, reply) => {
      if (req.url.startsWith('/api/') || req.url.startsWith('/v1/') || req.url.startsWith('/docs')) return;
      reply.header('content-security-policy', "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    });
  }
  return app;
}

interface FastifyErrorLike extends Error {
  statusCode?: number;
  code?: string;
  validation?: unknown;
  validationContext?: string;
}
