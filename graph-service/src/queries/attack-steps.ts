import type { GraphEdge, GraphNode } from '@faasprov/model';
import { printable } from '../format/label.js';

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1) || p;
const addr = (n: { address: string; port: number }) => `${n.address.includes(':') ? `[${n.address}]` : n.address}:${n.port}`;

function who(n: GraphNode): string {
  switch (n.type) {
    case 'Unit':
    case 'Invocation':
      return `invocation ${n.callId}`;
    case 'Process':
      return `process ${base(n.exe)} (pid ${n.pid})`;
    case 'GpuKernel':
      return `GPU kernel ${n.symbol ?? n.func}`;
    default:
      return n.type.toLowerCase();
  }
}

function what(n: GraphNode): string {
  switch (n.type) {
    case 'File':
      return n.path;
    case 'Endpoint':
      return addr(n);
    case 'Pipe':
      return `a ${n.kind}`;
    case 'Connection':
      return n.flow === 'toServer' ? `the request to ${n.server ?? '?'}${n.client ? ` from ${n.client}` : ''}` : `the response from ${n.server ?? '?'}${n.client ? ` to ${n.client}` : ''}`;
    case 'GpuBuffer':
      return `GPU buffer ${n.ptr}`;
    default:
      return who(n);
  }
}

const bytes = (e: GraphEdge) => (e.bytes > 0 ? ` (${e.bytes} bytes)` : '');
/** A CUDA call that returned an error (no GPU, for one) was attempted, not done: said so. */
const failed = (e: GraphEdge) => (e.attrs?.rc !== undefined ? ` (the call failed: CUDA error ${e.attrs.rc})` : '');

/** Whose bytes a copy out of a GPU buffer got: a version's writer, or the allocation's content (a buffer with versions in the view). */
type GpuSources = (buffer: GraphNode) => string;

function gpuSources(nodes: GraphNode[], edges: GraphEdge[], byId: Map<string, GraphNode>): GpuSources {
  const writer = new Map<string, GraphNode>();
  for (const e of edges) if (e.type === 'WAS_GENERATED_BY' && e.attrs?.copyKind !== undefined && byId.get(e.from)?.type === 'GpuBuffer') writer.set(e.from, byId.get(e.to)!);
  const versioned = new Set(nodes.flatMap((n) => (n.type === 'GpuBuffer' && n.version ? [`${n.device}\0${n.ptr}\0${n.allocated}`] : [])));
  return (b) => {
    if (b.type !== 'GpuBuffer') return '';
    if (b.version) return writer.has(b.id) ? `, written by ${who(writer.get(b.id)!)}` : '';
    return versioned.has(`${b.device}\0${b.ptr}\0${b.allocated}`) ? ' as allocated' : '';
  };
}

/** Device memory in words: allocations, copies in and out (with their size), frees. */
function gpuSentence(e: GraphEdge, from: GraphNode, to: GraphNode, sources: GpuSources): string | undefined {
  // A kernel's arguments are opaque: it is linked to every live buffer of its device.
  if (e.type === 'USED' && from.type === 'GpuKernel') return `${who(from)} may have read ${what(to)}`;
  if (e.type === 'WAS_GENERATED_BY' && to.type === 'GpuKernel') return `${who(to)} may have written ${what(from)}`;
  if (e.type === 'USED' && to.type === 'GpuBuffer') return `${who(from)} copied ${e.bytes} bytes out of ${what(to)}${sources(to)}${failed(e)}`;
  if (e.type === 'WAS_GENERATED_BY' && from.type === 'GpuBuffer') {
    const made = e.attrs?.copyKind !== undefined ? `copied ${e.bytes} bytes into ${what(from)}` : `allocated ${what(from)}${from.size !== undefined ? ` (${from.size} bytes)` : ''}`;
    return `${who(to)} ${made}${failed(e)}`;
  }
  if (e.type === 'WAS_INVALIDATED_BY' && from.type === 'GpuBuffer') return `${who(to)} freed ${what(from)}${failed(e)}`;
  return undefined;
}

function sentence(e: GraphEdge, from: GraphNode, to: GraphNode, sources: GpuSources): string | undefined {
  if (from.type === 'GpuBuffer' || to.type === 'GpuBuffer') return gpuSentence(e, from, to, sources);
  switch (e.type) {
    case 'USED':
      if (to.type === 'Endpoint') return e.attrs?.initiated ? `${who(from)} connected to ${addr(to)}` : `${who(from)} received data from ${addr(to)}${bytes(e)}`;
      return `${who(from)} read ${what(to)}${bytes(e)}`;
    case 'WAS_GENERATED_BY':
      if (from.type === 'Endpoint') return e.bytes > 0 ? `${who(to)} sent ${e.bytes} bytes to ${addr(from)}` : `${who(to)} served ${addr(from)}`;
      return `${who(to)} wrote ${what(from)}${bytes(e)}`;
    case 'WAS_INVALIDATED_BY':
      return `${who(to)} deleted ${what(from)}`;
    case 'WAS_INFORMED_BY':
      if (from.type === 'Invocation' && to.type === 'Invocation') return `invocation ${to.callId} called invocation ${from.callId}`;
      if (from.type === 'Process' && to.type === 'Process' && from.pid === to.pid) return `${who(to)} executed ${from.argv.join(' ') || from.exe}`;
      if (from.type === 'Process') return `${who(to)} started ${who(from)}: ${from.argv.join(' ') || from.exe}`;
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The chain in plain words, one step per operation, in time order (ties: invocations, operations, alerts, then by text): when each
 * invocation began, what its units and processes read, wrote, sent, started and deleted, and the
 * alert. Only nodes shown in the view speak; what was folded is summarised in its node.
 */
export function attackSteps(nodes: GraphNode[], edges: GraphEdge[]): string[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // At one time: an invocation begins, then operations, then the alert they raised.
  const events: { t: number; rank: number; text: string }[] = [];
  const sources = gpuSources(nodes, edges, byId);
  for (const n of nodes) {
    if (n.type === 'Invocation') events.push({ t: n.start, rank: 0, text: `invocation ${n.callId}${n.function ? ` of ${n.function}` : ''} began` });
    if (n.type === 'Alert') events.push({ t: n.time, rank: 2, text: `alert ${n.rule} (${n.severity}): ${n.summary}` });
  }
  for (const e of edges) {
    const [from, to] = [byId.get(e.from), byId.get(e.to)];
    if (!from || !to) continue;
    const text = sentence(e, from, to, sources);
    if (text) events.push({ t: e.firstTime, rank: 1, text });
  }
  events.sort((a, b) => a.t - b.t || a.rank - b.rank || a.text.localeCompare(b.text));
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.text) && seen.add(e.text)).map((e) => printable(e.text));
}
