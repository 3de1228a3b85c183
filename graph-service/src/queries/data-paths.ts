import { isGpuAllocation, isLoopback, processId, type GraphEdge, type GraphNode } from '@faasprov/model';
import type { TraceResult } from './trace.js';

/** Addresses that mean "this network namespace": what is sent to them never leaves it. */
export function isNamespaceLocal(address: string): boolean {
  return isLoopback(address) || address === '0.0.0.0' || address === '::';
}

/** Each node's edges by their `from` (out) and by their `to` (into), built once in linear time. */
export function adjacency(edges: readonly GraphEdge[]): { out: Map<string, GraphEdge[]>; into: Map<string, GraphEdge[]> } {
  const out = new Map<string, GraphEdge[]>();
  const into = new Map<string, GraphEdge[]>();
  for (const e of edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    if (!into.has(e.to)) into.set(e.to, []);
    out.get(e.from)!.push(e);
    into.get(e.to)!.push(e);
  }
  return { out, into };
}

/**
 * The nodes of a trace that a data path links to its start, under rules the trace itself
 * does not apply (it follows every edge that respects time). Two are about socket endpoints, which
 * name the server's address on both sides of a connection:
 * - sides: what a client writes reaches the server, never another client of it, so a path through
 *   an endpoint never joins two of its clients (two servers' requests and responses are told apart
 *   by the agent's connection entities, not here);
 * - namespaces: a loopback or wildcard address means the network namespace it is used in, so a
 *   path through one never joins two instances with namespaces of their own (nor one with its own
 *   and one on the host).
 * - telemetry: an endpoint marked `role: 'telemetry'` at capture (the agent's OTLP receiver, or
 *   the relay to it an instance's environment names) joins no two activities: what a function
 *   sends there goes to the agent, and the answer it reads back is the receiver's, whatever
 *   thread or unit the exporter's traffic was charged to.
 * And one about GPU memory: a buffer's allocation put no data in it (each copy into it is a version
 * of its own), so a path never goes between an allocation and the activity that made it.
 * An activity is a client of the endpoint when it, its process or another unit of that process
 * connected to it (a USED edge marked `initiated`); its namespace is its instance's (one with
 * `addresses` has its own; else the host's). Where either is unknown the path is followed. The time rule is the trace's (replayed on its own edges), so what
 * this keeps is a subset of the trace, and what it leaves out had no path that could carry data.
 */
export function dataPaths(full: TraceResult, via?: Map<string, string>): Set<string> {
  // via, when given, gets the node each reached node was first reached from (to explain a path).
  const byId = new Map(full.nodes.map((n) => [n.id, n]));
  const { out, into } = adjacency(full.edges);
  const ns = namespaces(full, byId, out);
  // The process each activity runs in (a unit's, or the process itself), and the activities of each process.
  const procOf = new Map<string, string>();
  for (const n of full.nodes) {
    if (n.type === 'Process') procOf.set(n.id, n.id);
    if (n.type === 'Unit') procOf.set(n.id, processId(n.node, n.pid, n.processStart));
  }
  const ofProc = new Map<string, string[]>();
  for (const [a, p] of procOf) {
    if (!ofProc.has(p)) ofProc.set(p, []);
    ofProc.get(p)!.push(a);
  }
  // A connect (`initiated`) by the activity, else by its process or another unit of it, makes it a client.
  // A read on a connected socket carries no mark, and neither does a server's, so nothing here tells a server.
  const connected = (a: string, endpoint: string) => (out.get(a) ?? []).some((e) => e.type === 'USED' && e.to === endpoint && e.attrs?.initiated);
  const clients = new Map<string, boolean>();
  const isClient = (activity: string, endpoint: string): boolean => {
    const key = `${activity}\0${endpoint}`;
    let c = clients.get(key);
    if (c === undefined) {
      const p = procOf.get(activity);
      c = connected(activity, endpoint) || (p !== undefined && (ofProc.get(p) ?? []).some((a) => connected(a, endpoint)));
      clients.set(key, c);
    }
    return c;
  };
  const isActivity = (id: string) => ['Process', 'Unit', 'Invocation', 'GpuKernel'].includes(byId.get(id)?.type ?? '');
  // A hop through endpoint E from activity a to activity b: not between two of its clients, and in one namespace when E is namespace-local.
  const joins = (e: GraphNode, a: string, b: string): boolean => {
    if (e.type !== 'Endpoint' || !isActivity(a) || !isActivity(b) || a === b) return true;
    // The product's telemetry receiver: what is sent there goes to the agent, and what comes back is its acknowledgement.
    if (e.role === 'telemetry') return false;
    if (isClient(a, e.id) && isClient(b, e.id)) return false;
    if (!isNamespaceLocal(e.address)) return true;
    const [na, nb] = [ns.get(a), ns.get(b)];
    return na === undefined || nb === undefined || na === nb;
  };
  const backward = full.direction === 'backward';
  // State: a node, and for an endpoint the activity the path came from; the best time bound of each.
  const best = new Map<string, number>();
  const reached = new Set<string>([full.start]);
  const work: { id: string; from?: string; bound: number }[] = [{ id: full.start, bound: backward ? Number.MAX_SAFE_INTEGER : 0 }];
  best.set(`${full.start}\0`, work[0]!.bound);
  const visit = (id: string, from: string | undefined, bound: number) => {
    const key = `${id}\0${byId.get(id)?.type === 'Endpoint' ? (from ?? '') : ''}`;
    const old = best.get(key);
    if (old !== undefined && (backward ? bound <= old : bound >= old)) return;
    best.set(key, bound);
    if (!reached.has(id) && from !== undefined) via?.set(id, from);
    reached.add(id);
    work.push({ id, from, bound });
  };
  while (work.length > 0) {
    const { id, from, bound } = work.pop()!;
    const node = byId.get(id);
    if (!node) continue;
    if (backward) {
      for (const e of out.get(id) ?? []) {
        if (e.firstTime > bound || isGpuAllocation(e, node)) continue;
        if (from !== undefined && !joins(node, from, e.to)) continue;
        visit(e.to, id, Math.min(bound, e.lastTime));
      }
      // Into an invocation's units that began before the bound (invocation-steps.ts), with the same bound.
      if (node.type === 'Invocation') for (const e of into.get(id) ?? []) if (e.type === 'PART_OF' && e.firstTime <= bound) visit(e.from, id, bound);
    } else {
      for (const e of into.get(id) ?? []) {
        if (e.lastTime < bound || isGpuAllocation(e, byId.get(e.from))) continue;
        if (from !== undefined && !joins(node, from, e.from)) continue;
        visit(e.from, id, Math.max(bound, e.firstTime));
      }
      if (node.type === 'Unit') for (const e of out.get(id) ?? []) if (e.type === 'PART_OF') visit(e.to, id, bound);
    }
  }
  return reached;
}

/** Each activity's network namespace, where the trace tells it: its instance's id, or the host's (per node). */
function namespaces(full: TraceResult, byId: Map<string, GraphNode>, out: Map<string, GraphEdge[]>): Map<string, string> {
  const instanceOf = (proc: string, seen = new Set<string>()): GraphNode | undefined => {
    if (seen.has(proc)) return undefined;
    seen.add(proc);
    const edges = out.get(proc) ?? [];
    const inst = edges.find((e) => e.type === 'WAS_ASSOCIATED_WITH' && byId.get(e.to)?.type === 'Instance');
    if (inst) return byId.get(inst.to);
    // A process started by another (fork, exec) runs in its parent's instance.
    const parent = edges.find((e) => e.type === 'WAS_INFORMED_BY' && byId.get(e.to)?.type === 'Process');
    return parent ? instanceOf(parent.to, seen) : undefined;
  };
  const nsOf = (i: GraphNode | undefined) => (i?.type === 'Instance' ? (i.addresses?.length ? `netns:${i.id}` : `host:${i.node}`) : undefined);
  const out2 = new Map<string, string>();
  for (const n of full.nodes) {
    let i: GraphNode | undefined;
    if (n.type === 'Process') i = instanceOf(n.id);
    else if (n.type === 'Unit') i = instanceOf(processId(n.node, n.pid, n.processStart));
    const k = nsOf(i);
    if (k) out2.set(n.id, k);
  }
  return out2;
}
