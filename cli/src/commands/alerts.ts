import type { AlertNode } from '@faasprov/model';
import { printable } from '@faasprov/graph-service';
import { ApiClient, listParams } from '../api-client.js';

export interface AlertsCliOptions {
  store: string;
  server?: string;
  key?: string;
  severity?: string;
  function?: string;
  since?: number;
  until?: number;
  limit: number;
  offset: number;
  json?: boolean;
}

/** faasprov alerts: what the rules raised, newest first, through the query API. */
export async function alertsCommand(o: AlertsCliOptions): Promise<number> {
  const api = new ApiClient(o);
  try {
    const q = listParams(o);
    if (o.severity) q.set('severity', o.severity);
    const r = await api.json<{ alerts: AlertNode[]; next: number | null }>(`/api/v1/alerts?${q}`);
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      for (const a of r.alerts) {
        const when = new Date(Math.floor(a.time / 1000)).toISOString();
        process.stdout.write(printable(`${when}  ${a.severity.padEnd(8)} ${a.rule}  ${a.function ?? '-'}  ${a.summary}  ${a.id}`) + '\n');
      }
      if (r.alerts.length === 0) process.stderr.write('faasprov: no alerts\n');
      if (r.next !== null) process.stderr.write(`faasprov: more with --offset ${r.next}\n`);
      else if (r.alerts.length > 0) process.stderr.write(`faasprov: trace one with: faasprov trace ID --backward\n`);
    }
    return 0;
  } finally {
    await api.close();
  }
}
