import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GraphStore } from '@faasprov/store';
import { trace } from '../queries/trace.js';
import { attackView } from '../queries/attack-view.js';
import { GraphErrors } from '../errors.js';
import { formatDot, formatGraphml, formatProvJson, renderGraphviz } from '../format/index.js';
import { Direction, ErrorReply, NodeId, Time } from './schemas.js';

const Query = Type.Object({
  from: NodeId,
  direction: Direction,
  depth: Type.Integer({ minimum: 0, maximum: 100, default: 64 }),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  format: Type.Union([Type.Literal('json'), Type.Literal('prov-json'), Type.Literal('dot'), Type.Literal('graphml'), Type.Literal('png')], { default: 'json' }),
  /** full: every node of the trace; attack: the causal chain, context folded into summary nodes (queries/attack-view.ts). */
  view: Type.Union([Type.Literal('full'), Type.Literal('attack')], { default: 'full' }),
});

const EXPORT = {
  'prov-json': { type: 'application/json', render: formatProvJson },
  dot: { type: 'text/vnd.graphviz; charset=utf-8', render: formatDot },
  graphml: { type: 'application/graphml+xml; charset=utf-8', render: formatGraphml },
} as const;

/** GET /api/v1/trace — a time-respecting trace, as the JSON graph or an export. */
export const traceRoutes: FastifyPluginAsync<{ store: GraphStore }> = async (app, opts) => {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/v1/trace',
    {
      schema: {
        summary: 'Backward (root cause) or forward (impact) trace from a node, respecting time',
        querystring: Query,
        response: { 400: ErrorReply, 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.view === 'attack' && q.format !== 'json') throw GraphErrors.FP_ERR_BAD_OPTION('trace', 'view=attack is served as JSON; exports take view=full');
      const r = await trace(opts.store, q.from, { direction: q.direction, maxDepth: q.depth, since: q.since, until: q.until, scope: req.scope });
      if (q.view === 'attack') return attackView(opts.store, r, req.scope);
      if (q.format === 'json') return r;
      if (q.format === 'png') return reply.type('image/png').send(await renderGraphviz(formatDot(r), 'png'));
      const e = EXPORT[q.format];
      return reply.type(e.type).send(e.render(r));
    },
  );
};
