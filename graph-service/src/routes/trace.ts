import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { trace } from '../queries/trace.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });
const Query = Type.Object({
  direction: Type.Union([Type.Literal('backward'), Type.Literal('forward')], { default: 'backward' }),
  maxDepth: Type.Integer({ minimum: 0, maximum: 1000, default: 64 }),
});

/** GET /v1/trace/:id?direction=backward|forward — a time-respecting trace. */
export const traceRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/v1/trace/:id',
    { schema: { params: Params, querystring: Query } },
    async (req) => trace(opts.store, req.params.id, { direction: req.query.direction, maxDepth: req.query.maxDepth }),
  );
};
