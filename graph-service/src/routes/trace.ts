import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { spawnSync } from 'node:child_process';
import type { GraphStore } from '@faasprov/store';
import { GraphErrors } from '../errors.js';
import { trace } from '../queries/trace.js';
import { formatDot, formatGraphml, formatProvJson } from '../format/index.js';
import { Direction, ErrorReply, NodeId, Time } from './schemas.js';

const Query = Type.Object({
  from: NodeId,
  direction: Direction,
  depth: Type.Integer({ minimum: 0, maximum: 100, default: 64 }),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  format: Type.Union([Type.Literal('json'), Type.Literal('prov-json'), Type.Literal('dot'), Type.Literal('graphml'), Type.Literal('png')], { default: 'json' }),
});

const EXPORT = {
  'prov-json': { type: 'application/json', render: formatProvJson },
  dot: { type: 'text/vnd.graphviz; charset=utf-8', render: formatDot },
  graphml: { type: 'application/graphml+xml; charset=utf-8', render: formatGraphml },
} as const;

/** DOT rendered by Graphviz (FAASPROV_GRAPHVIZ_DOT, else dot on the PATH). */
function png(dot: string): Buffer {
  const r = spawnSync(process.env.FAASPROV_GRAPHVIZ_DOT || 'dot', ['-Tpng'], { input: dot, maxBuffer: 256 * 1024 * 1024, timeout: 60000 });
  if (r.error) throw GraphErrors.FP_ERR_NO_GRAPHVIZ((r.error as Error).message);
  if (r.status !== 0) throw GraphErrors.FP_ERR_NO_GRAPHVIZ(String(r.stderr).trim().slice(0, 300));
  return r.stdout;
}

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
      const r = await trace(opts.store, q.from, { direction: q.direction, maxDepth: q.depth, since: q.since, until: q.until, scope: req.scope });
      if (q.format === 'json') return r;
      if (q.format === 'png') return reply.type('image/png').send(png(formatDot(r)));
      const e = EXPORT[q.format];
      return reply.type(e.type).send(e.render(r));
    },
  );
};
