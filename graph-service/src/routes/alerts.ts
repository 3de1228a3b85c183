import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SEVERITIES } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { ErrorReply, Time } from './schemas.js';
import { requireScope, tenantFilter } from '../queries/scope.js';

const AlertsQuery = Type.Object({
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  severity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)), { description: 'at least this severity' })),
  function: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
});

/** Alerts the collector's rules raised, newest first; each links (CONCERNS) to what raised it. */
export const alertRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/v1/alerts',
    { schema: { summary: 'Alerts, newest first (trace one backward from its id to see how it happened)', querystring: AlertsQuery, response: { 400: ErrorReply } } },
    async (req) => {
      const q = req.query;
      const alerts = await opts.store.alerts({
        since: q.since, until: q.until, minSeverity: q.severity, function: q.function, limit: q.limit, offset: q.offset,
        tenants: tenantFilter(requireScope(req.scope, 'alerts')),
      });
      return { alerts, limit: q.limit, offset: q.offset, next: alerts.length === q.limit ? q.offset + q.limit : null };
    },
  );
};
