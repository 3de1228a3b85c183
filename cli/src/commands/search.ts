import type { GraphNode } from '@faasprov/model';
import { nodeLabel } from '@faasprov/graph-service';
import { ApiClient, listParams } from '../api-client.js';

export interface SearchCliOptions {
  store: string;
  server?: string;
  key?: string;
  type?: string;
  function?: string;
  since?: number;
  until?: number;
  limit: number;
  offset: number;
  json?: boolean;
}

/** faasprov search [TEXT]: find nodes (id, type and what they are), through the query API. */
export async function searchCommand(text: string | undefined, o: SearchCliOptions): Promise<number> {
  const api = new ApiClient(o);
  try {
    const q = listParams(o);
    if (text) q.set('q', text);
    if (o.type) q.set('type', o.type);
    const r = await api.json<{ nodes: GraphNode[]; next: number | null }>(`/api/v1/nodes?${q}`);
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      for (const n of r.nodes) process.stdout.write(`${n.id}  ${nodeLabel(n)}\n`);
      if (r.next !== null) process.stderr.write(`faasprov: more with --offset ${r.next}\n`);
    }
    return 0;
  } finally {
    await api.close();
  }
}
