import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { invocation } from '../queries/invocation.js';
import { instances } from '../queries/instances.js';
import { ErrorReply } from './schemas.js';

const CallParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' }) });
const InstancesQuery = Type.Object({
  function: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }),
});

/** An invocation with its units and timeline; function instances with their capture health. */
export const investigateRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Params: Static<typeof CallParams> }>(
    '/api/v1/invocations/:callId',
    { schema: { summary: 'An invocation: its attempts (units) and what they did, the spans beside the kernel, its callers, callees and call chain', params: CallParams, response: { 400: ErrorReply, 404: ErrorReply } } },
    async (req) => invocation(opts.store, req.params.callId, { scope: req.scope }),
  );
  app.get<{ Querystring: Static<typeof InstancesQuery> }>(
    '/api/v1/instances',
    { schema: { summary: 'Function instances with processes, invocations, operations, edges stored, and gaps', querystring: InstancesQuery, response: { 400: ErrorReply } } },
    async (req) => ({ instances: await instances(opts.store, { ...req.query, scope: req.scope }) }),
  );
};
