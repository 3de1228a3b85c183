import type { AttackView, TraceResult } from '@faasprov/graph-service';
import { formatAttack, nodeLabel } from '@faasprov/graph-service';
import { ApiClient } from '../api-client.js';
import { fail } from '../output.js';
import { emitRendered, render, type CliFormat } from '../render.js';

export interface TraceCliOptions {
  store: string;
  server?: string;
  key?: string;
  backward?: boolean;
  forward?: boolean;
  format: CliFormat;
  out?: string;
  maxDepth: number;
  since?: number;
  until?: number;
  view?: 'full' | 'attack';
}

/** faasprov trace NODE_ID --backward|--forward: a time-respecting trace, through the query API. */
export async function traceCommand(id: string, o: TraceCliOptions): Promise<number> {
  if (!!o.backward === !!o.forward) fail(new Error('say one direction: --backward (root cause) or --forward (impact)'));
  const api = new ApiClient(o);
  try {
    const q = new URLSearchParams({ from: id, direction: o.backward ? 'backward' : 'forward', depth: String(o.maxDepth) });
    if (o.since !== undefined) q.set('since', String(o.since));
    if (o.until !== undefined) q.set('until', String(o.until));
    if (o.view === 'attack') {
      if (o.format !== 'tree' && o.format !== 'json') fail(new Error('--view attack prints as tree or json; exports take --view full'));
      q.set('view', 'attack');
      const v = await api.json<AttackView>(`/api/v1/trace?${q}`);
      const start = v.nodes.find((n) => n.id === id);
      const title = `attack view of the ${v.direction} trace from ${start ? nodeLabel(start) : id}${v.truncated ? ' (truncated)' : ''}`;
      emitRendered(o.format === 'json' ? JSON.stringify(v, null, 2) + '\n' : formatAttack(v, title), o.out, process.stdout);
      return 0;
    }
    const r = await api.json<TraceResult>(`/api/v1/trace?${q}`);
    const start = r.nodes.find((n) => n.id === id)!;
    const title = `${r.direction} trace from ${nodeLabel(start)}${r.truncated ? ' (truncated)' : ''}`;
    emitRendered(await render(r, o.format, title), o.out, process.stdout);
    return 0;
  } finally {
    await api.close();
  }
}
