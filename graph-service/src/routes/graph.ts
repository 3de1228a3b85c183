import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { NODE_TYPES, visibility } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { GraphErrors } from '../errors.js';
import { requireScope, tenantFilter } from '../queries/scope.js';
import { ErrorReply, NodeId, Time } from './schemas.js';

const Params = Type.Object({ id: NodeId });
const Search = Type.Object({
  type: Type.Optional(Type.Union(NODE_TYPES.map((t) => Type.Literal(t)))),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'substring of a path, address, executable, function or cause' })),
  function: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
});

/** Node search, one node with a summary of its neighbours, and store counts. */
export const graphRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Querystring: Static<typeof Search> }>(
    '/api/v1/nodes',
    { schema: { summary: 'Search nodes (paginated, ordered by id)', querystring: Search, response: { 400: ErrorReply } } },
    async (req) => {
      const q = req.query;
      const tenants = tenantFilter(requireScope(req.scope, 'nodes'));
      const nodes = await opts.store.searchNodes({ type: q.type, text: q.q, function: q.function, since: q.since, until: q.until, limit: q.limit, offset: q.offset, tenants });
      return { nodes, limit: q.limit, offset: q.offset, next: nodes.length === q.limit ? q.offset + q.limit : null };
    },
  );
  app.get<{ Params: Static<typeof Params> }>(
    '/api/v1/nodes/:id',
    { schema: { summary: 'One node and a count of its edges by type and direction', params: Params, response: { 400: ErrorReply, 404: ErrorReply } } },
    async (req) => {
      const [node] = await opts.store.getNodes([req.params.id]);
      if (!node || visibility(node, requireScope(req.scope, 'node')) !== 'full') throw GraphErrors.FP_ERR_UNKNOWN_NODE(req.params.id);
      const count = (steps: { edge: { type: string } }[]) => {
        const m: Record<string, number> = {};
        for (const s of steps) m[s.edge.type] = (m[s.edge.type] ?? 0) + 1;
        return m;
      };
      const frontier = [{ id: node.id, bound: Number.MAX_SAFE_INTEGER }];
      const out = await opts.store.expand(frontier, 'backward');
      const inn = await opts.store.expand([{ id: node.id, bound: 0 }], 'forward');
      return { node, neighbours: { out: count(out), in: count(inn) } };
    },
  );
  app.get('/api/v1/stats', { schema: { summary: 'Counts of nodes, edges and batches (admins and all-tenant keys)' } }, async (req) => {
    if (!requireScope(req.scope, 'stats').all) throw GraphErrors.FP_ERR_BAD_REQUEST('store-wide counts need a key for every tenant');
    return opts.store.stats();
  });
};
