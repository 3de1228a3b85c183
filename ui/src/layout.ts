import type { Graph } from './api';
import { nodeTime } from './labels';

/** Lanes top to bottom; the x axis is time (rank of each node's first moment), left to right. */
const LANES = ['Alert', 'Invocation', 'Unit', 'Process', 'GpuKernel', 'File', 'Pipe', 'Connection', 'Endpoint', 'GpuBuffer', 'Gap', 'Instance', 'Span'];

export interface Placed {
  x: number;
  y: number;
  /** µs: when the node first took part in what is shown. */
  t: number;
}

/**
 * Places nodes left to right in time and top to bottom by type; units of one invocation sit
 * together. O(n log n): a 5,000-node trace lays out instantly (no force simulation).
 */
export function layout(g: Graph): Map<string, Placed> {
  const first = new Map<string, number>();
  const seen = (id: string, t: number) => first.set(id, Math.min(first.get(id) ?? Number.MAX_SAFE_INTEGER, t));
  for (const e of g.edges) {
    seen(e.from, e.firstTime);
    seen(e.to, e.firstTime);
  }
  for (const n of g.nodes) {
    const t = nodeTime(n);
    if (t !== undefined) seen(n.id, t);
  }
  const times = [...new Set(g.nodes.map((n) => first.get(n.id) ?? 0))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i]));
  const columns = Math.max(1, times.length);
  const stack = new Map<string, number>();
  const out = new Map<string, Placed>();
  // Units sorted by invocation so that an invocation's units stack next to each other.
  const ordered = [...g.nodes].sort((a, b) => String(a.callId ?? '').localeCompare(String(b.callId ?? '')) || a.id.localeCompare(b.id));
  for (const n of ordered) {
    const t = first.get(n.id) ?? 0;
    const lane = Math.max(0, LANES.indexOf(n.type));
    const col = rank.get(t) ?? 0;
    const key = `${lane}:${Math.floor((col * 40) / columns)}`;
    const k = stack.get(key) ?? 0;
    stack.set(key, k + 1);
    out.set(n.id, { x: (col / columns) * 100, y: -(lane * 12 + (k % 20) * 0.5 + Math.floor(k / 20) * 0.1), t });
  }
  return out;
}
