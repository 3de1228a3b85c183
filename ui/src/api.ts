import type { AttackView } from './story';
/** The dashboard's only way to data: the same /api routes, key and tenant rules as any client. */
export interface GraphNode {
  id: string;
  type: string;
  redacted?: boolean;
  [k: string]: unknown;
}
export interface GraphEdge {
  id: string;
  type: string;
  from: string;
  to: string;
  firstTime: number;
  lastTime: number;
  count: number;
  bytes: number;
  attrs?: Record<string, unknown>;
}
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}
export interface TraceResult extends Graph {
  direction: 'backward' | 'forward';
  truncated: boolean;
}
export interface Alert extends GraphNode {
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  time: number;
  summary: string;
  function?: string;
}
export interface TimelineEntry {
  time: number;
  process: string;
  action: string;
  object: GraphNode;
  count: number;
  bytes: number;
}
/** GET /api/v1/invocations/:callId (graph-service/src/queries/invocation.ts). */
export interface InvocationView {
  invocations: GraphNode[];
  units: GraphNode[];
  timeline: TimelineEntry[];
  attempts: { attempt: number; unit: GraphNode; activity: TimelineEntry[] }[];
  facts: { invocation: string; kernel: Record<string, unknown>; app?: Record<string, unknown>; contradictions: string[] }[];
  chain: { invocations: GraphNode[]; links: { from: string; to: string; inferred: boolean }[] };
}
export interface InstanceHealth {
  instance: GraphNode;
  processes: number;
  invocations: number;
  operations: number;
  edges: number;
  gaps: number;
  lost: number;
  inferred: number;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class Api {
  constructor(readonly key: string) {}

  private async fetch(path: string): Promise<Response> {
    const r = await fetch(path, { headers: this.key ? { authorization: `Bearer ${this.key}` } : {} });
    if (!r.ok) {
      let code = `HTTP_${r.status}`;
      let message = r.statusText;
      try {
        const b = (await r.json()) as { code?: string; message?: string };
        code = b.code ?? code;
        message = b.message ?? message;
      } catch {
        // not JSON
      }
      throw new ApiError(r.status, code, message);
    }
    return r;
  }

  async json<T>(path: string): Promise<T> {
    return (await this.fetch(path)).json() as Promise<T>;
  }

  async blob(path: string): Promise<Blob> {
    return (await this.fetch(path)).blob();
  }

  alerts(limit = 100) {
    return this.json<{ alerts: Alert[] }>(`/api/v1/alerts?limit=${limit}`);
  }
  trace(from: string, direction: 'backward' | 'forward', depth = 64) {
    return this.json<TraceResult>(`/api/v1/trace?${new URLSearchParams({ from, direction, depth: String(depth) })}`);
  }
  /** The attack view: the causal chain, context folded into summaries, the steps in words. */
  attackView(from: string, direction: 'backward' | 'forward') {
    return this.json<AttackView>(`/api/v1/trace?${new URLSearchParams({ from, direction, view: 'attack' })}`);
  }
  invocation(callId: string) {
    return this.json<InvocationView>(`/api/v1/invocations/${encodeURIComponent(callId)}`);
  }
  instances() {
    return this.json<{ instances: InstanceHealth[] }>('/api/v1/instances');
  }
  search(q: string, type?: string) {
    const p = new URLSearchParams({ limit: '50' });
    if (q) p.set('q', q);
    if (type) p.set('type', type);
    return this.json<{ nodes: GraphNode[] }>(`/api/v1/nodes?${p}`);
  }
  exportUrl(from: string, direction: string, format: 'prov-json' | 'dot' | 'png') {
    return `/api/v1/trace?${new URLSearchParams({ from, direction, format })}`;
  }
}
