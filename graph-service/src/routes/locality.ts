import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { redact, visibility, type GraphNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { ErrorReply, Time } from './schemas.js';
import { requireScope, tenantFilter } from '../queries/scope.js';

const RemoteReadsQuery = Type.Object({
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});

export interface LocalityOptions {
  store: GraphStore;
}

function shown(n: GraphNode, scope: TenantScope): GraphNode {
  return visibility(n, scope) === 'full' ? n : redact(n);
}

/** F3 locality: which invocations read data that was produced on another node. */
export const localityRoutes: FastifyPluginAsync<LocalityOptions> = async (app, opts) => {
  app.get<{ Querystring: Static<typeof RemoteReadsQuery> }>(
    '/api/v1/locality/remote-reads',
    {
      schema: {
        summary: 'Reads of F3 file versions produced on another node (oldest first): where locality-aware scheduling missed',
        querystring: RemoteReadsQuery,
        response: { 400: ErrorReply },
      },
    },
    async (req) => {
      const scope = requireScope(req.scope, 'remoteReads');
      const reads = await opts.store.remoteReads({ ...req.query, tenants: tenantFilter(scope) });
      return {
        reads: reads.map((r) => ({
          ...r,
          reader: shown(r.reader, scope),
          ...(r.invocation ? { invocation: shown(r.invocation, scope) } : {}),
          file: shown(r.file, scope),
          producer: shown(r.producer, scope),
        })),
      };
    },
  );
};
