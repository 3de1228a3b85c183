import type { TraceResult } from '@faasprov/graph-service';
import { nodeLabel } from '@faasprov/graph-service';
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
}

/** faasprov trace NODE_ID --backward|--forward: a time-respecting trace, through the query API. */
export async function traceCommand(id: string, o: TraceCliOptions): Promise<number> {
  if (!!o.backward === !!o.forward) fail(new Error('say one direction: --backward (root cause) or --forward (impact)'));
  const api = new ApiClient(o);
  try {
    const q = new URLSearchParams({ from: id, direction: o.backward ? 'backward' : 'forward', depth: String(o.maxDepth) });
    if (o.since !== undefined) q.set('since', String(o.since));
    if (o.until !== undefined) q.set('until', String(o.until));
    const r = await api.json<TraceResult>(`/api/v1/trace?${q}`);
    const start = r.nodes.find((n) => n.id === id)!;
    const title = `${r.direction} trace from ${nodeLabel(start)}${r.truncated ? ' (truncated)' : ''}`;
    emitRendered(await render(r, o.format, title), o.out, process.stdout);
    return 0;
  } finally {
    await api.close();
  }
}
