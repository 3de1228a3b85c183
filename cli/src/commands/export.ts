import { ApiClient } from '../api-client.js';
import { fail } from '../output.js';
import { emitRendered } from '../render.js';

export interface ExportCliOptions {
  store: string;
  server?: string;
  key?: string;
  direction: 'backward' | 'forward';
  format: 'prov-json' | 'dot' | 'graphml' | 'json';
  out?: string;
  maxDepth: number;
}

/** faasprov export NODE_ID: a trace as W3C PROV-JSON, DOT, GraphML or JSON, exactly as the API serves it. */
export async function exportCommand(id: string, o: ExportCliOptions): Promise<number> {
  const api = new ApiClient(o);
  try {
    const q = new URLSearchParams({ from: id, direction: o.direction, depth: String(o.maxDepth), format: o.format });
    const r = await api.get(`/api/v1/trace?${q}`);
    if (r.status >= 400) api.failWith(r);
    if (r.body.length === 0) fail(new Error('the API returned nothing'));
    emitRendered(r.body.toString('utf8'), o.out, process.stdout);
    return 0;
  } finally {
    await api.close();
  }
}
