import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { GraphErrors } from '../errors.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });

/** Nodes by id and store statistics. */
export const graphRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Params: Static<typeof Params> }>('/v1/nodes/:id', { schema: { params: Params } }, async (req) => {
    const [n] = await opts.store.getNodes([req.params.id]);
    if (!n) throw GraphErrors.FP_ERR_UNKNOWN_NODE(req.params.id);
    return n;
  });
  app.get('/v1/stats', async () => opts.store.stats());
};
