import { basename } from 'node:path';
import { alertId, edgeId, isGpuAllocation, isInferenceGap, type AlertNode, type Batch, type GraphEdge, type GraphNode, type Severity } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import type { Rule } from './rules.js';
import { codeDirs, inside, isCompiledCache, type CodeDirs } from './code.js';
import { isCodePath } from '@faasprov/model';
import { hostFindings, isHostRule } from './host-rules.js';
import { secretFindings } from './secrets.js';
import { volumeFlowFindings } from './volume-flow.js';

interface Finding {
  rule: Rule;
  time: number;
  summary: string;
  subject: GraphNode;
  object?: GraphNode;
  function?: string;
}

const label = (n: GraphNode): string => {
  switch (n.type) {
    case 'File':
      return n.volume ? `${n.volume}:${n.path}` : n.path;
    case 'Endpoint':
      return `${n.address}:${n.port}`;
    case 'Process':
      return `${n.exe} (pid ${n.pid})`;
    case 'Unit':
      return `invocation ${n.callId} (pid ${n.pid})`;
    default:
      return n.type;
  }
};

/**
 * Evaluates the rules on one batch before it is stored and adds the alerts to it, so that a
 * batch and its alerts commit together (and a re-delivered batch raises nothing twice).
 * Matching is per operation (edge) or per node; rules that need history (which invocation
 * wrote what a unit reads) ask the store.
 */
export class RuleEngine {
  constructor(readonly rules: Rule[]) {}

  /** Returns how many alerts were added to the batch. */
  async evaluate(batch: Batch, store: GraphStore): Promise<number> {
    if (this.rules.length === 0) return 0;
    const nodes = new Map(batch.nodes.map((n) => [n.id, n]));
    const functionOf = (n: GraphNode): string | undefined => {
      if ('function' in n && typeof n.function === 'string') return n.function;
      for (const e of batch.edges) {
        if (e.type === 'WAS_ASSOCIATED_WITH' && e.from === n.id) {
          const i = nodes.get(e.to);
          if (i?.type === 'Instance' && i.function) return i.function;
        }
      }
      return undefined;
    };
    const findings: Finding[] = [];
    /** Who wrote what the batch's units read: built on first need, one store round trip. */
    let writers: ((entity: string, t: number) => Write[]) | undefined;
    const hit = (rule: Rule, time: number, summary: string, subject: GraphNode, object?: GraphNode) =>
      findings.push({ rule, time, summary, subject, object, function: functionOf(subject) });
    for (const rule of this.rules) {
      switch (rule.kind) {
        case 'shell-spawned':
          for (const e of batch.edges) {
            if (e.type !== 'WAS_INFORMED_BY') continue;
            const child = nodes.get(e.from);
            const parent = nodes.get(e.to);
            // A new image or a fork of a shell under a tracked parent: not the instance's root.
            if (child?.type !== 'Process' || !parent || child.start !== e.firstTime) continue;
            if (!rule.shells.includes(basename(child.exe))) continue;
            if (parent.type === 'Process' && parent.exe === child.exe && parent.pid !== child.pid) continue; // a shell forking itself
            hit(rule, e.firstTime, `shell ${child.exe} started under ${label(parent)}`, child, parent);
          }
          break;
        case 'file-write':
        case 'file-read':
          for (const e of batch.edges) {
            const write = rule.kind === 'file-write';
            // A failed open (rc) is an attempt, not a read: the file-open rules see it.
            if (e.type !== (write ? 'WAS_GENERATED_BY' : 'USED') || e.attrs?.rc !== undefined) continue;
            const file = nodes.get(write ? e.from : e.to);
            const actor = nodes.get(write ? e.to : e.from);
            if (file?.type !== 'File' || !actor || !rule.match!(file.path)) continue;
            hit(rule, e.firstTime, `${label(actor)} ${write ? 'wrote' : 'read'} ${label(file)}`, actor, file);
          }
          break;
        case 'connect-outside':
          for (const e of batch.edges) {
            if (e.type !== 'USED' || !e.attrs?.initiated) continue;
            const ep = nodes.get(e.to);
            const actor = nodes.get(e.from);
            if (ep?.type !== 'Endpoint' || !actor || ep.address.startsWith('unix:') || rule.allowed!(ep.address)) continue;
            hit(rule, e.firstTime, `${label(actor)} connected to ${label(ep)}`, actor, ep);
          }
          break;
        case 'cross-invocation':
          for (const e of batch.edges) {
            if (e.type !== 'USED') continue;
            const reader = nodes.get(e.from);
            const entity = nodes.get(e.to);
            if (reader?.type !== 'Unit' || entity?.type !== 'File') continue;
            writers ??= await writerIndex(store, batch, nodes);
            for (const w of writers(entity.id, e.lastTime).map((x) => x.node)) {
              if (w.type !== 'Unit' || w.callId === reader.callId) continue;
              if (w.instance === undefined || w.instance !== reader.instance) continue;
              hit(rule, e.firstTime, `${label(reader)} read ${label(entity)} written by ${label(w)}`, reader, entity);
              break;
            }
          }
          break;
        case 'gpu-cross':
          for (const e of batch.edges) {
            if (e.type !== 'USED') continue;
            const reader = nodes.get(e.from);
            const entity = nodes.get(e.to);
            if (reader?.type !== 'Unit' || entity?.type !== 'GpuBuffer') continue;
            const read = `${e.attrs?.rc !== undefined ? `tried to read (CUDA error ${e.attrs.rc})` : 'read'} GPU buffer ${entity.ptr}`;
            if (e.attrs?.crossTenant) {
              hit(rule, e.firstTime, `${label(reader)} ${read} of tenant ${entity.tenant ?? '?'}`, reader, entity);
              continue;
            }
            writers ??= await writerIndex(store, batch, nodes);
            // The allocation put no data in the buffer; a kernel's writes are its launcher's.
            const writes = await launchers(store, batch, nodes, writers(entity.id, e.lastTime).filter((x) => !isGpuAllocation(x.edge, entity)));
            const w = gpuLeftBy(writes, reader, e);
            if (w) hit(rule, e.firstTime, `${label(reader)} ${read} written by ${label(w)}`, reader, entity);
          }
          break;
        case 'cross-invocation-code':
          for (const e of batch.edges) {
            if (e.type !== 'USED') continue;
            const reader = nodes.get(e.from);
            const entity = nodes.get(e.to);
            if (reader?.type !== 'Unit' || entity?.type !== 'File' || !isCodePath(entity.path)) continue;
            writers ??= await writerIndex(store, batch, nodes);
            // Any other invocation, of any instance or function (a shared volume carries code too).
            const w = writers(entity.id, e.lastTime).map((x) => x.node).find((x) => x.type === 'Unit' && x.callId !== reader.callId);
            if (w) hit(rule, e.firstTime, `${label(reader)} loaded code ${label(entity)} written by ${label(w)}`, reader, entity);
          }
          break;
        case 'loaded-code-dir-write': {
          const dirsOf = new Map<string, CodeDirs>();
          for (const e of batch.edges) {
            if (e.type !== 'WAS_GENERATED_BY') continue;
            const file = nodes.get(e.from);
            const writer = nodes.get(e.to);
            if (file?.type !== 'File' || !writer || isCompiledCache(file.path)) continue;
            const instance = writer.type === 'Unit' ? writer.instance : batch.edges.find((x) => x.type === 'WAS_ASSOCIATED_WITH' && x.from === writer.id)?.to;
            if (!instance) continue;
            let cd = dirsOf.get(instance);
            if (!cd) dirsOf.set(instance, (cd = await codeDirs(store, batch, nodes, instance, Number.MAX_SAFE_INTEGER)));
            // The image that loaded the code writes its caches there at start-up; any other writer is a finding.
            if (cd.loaders.has(writer.id)) continue;
            const dir = cd.dirs.find((d) => inside(file.path, d));
            if (dir) hit(rule, e.firstTime, `${label(writer)} wrote ${label(file)} into ${dir}, where the function's code was loaded from`, writer, file);
          }
          break;
        }
        case 'cross-function-volume':
          await volumeFlowFindings(batch, nodes, store, label, (time, summary, subject, object) => hit(rule, time, summary, subject, object));
          break;
        case 'secret-access':
          await secretFindings(rule, batch, nodes, store, label, (time, summary, subject, object) => hit(rule, time, summary, subject, object));
          break;
        case 'gap':
          for (const n of batch.nodes) {
            // An inference Gap lost nothing: its edges are in the graph, marked inferred.
            if (n.type !== 'Gap' || isInferenceGap(n)) continue;
            hit(rule, n.from, `capture lost ${n.count || 'an unknown number of'} events (${n.cause})`, n);
          }
          break;
        default:
          if (isHostRule(rule)) hostFindings(rule, batch, nodes, label, (time, summary, subject, object) => hit(rule, time, summary, subject, object));
      }
    }
    return addAlerts(batch, findings);
  }
}

/** One writer of an entity: the WAS_GENERATED_BY edge's times and bytes (collapsed repeats). */
interface Write {
  node: GraphNode;
  first: number;
  last: number;
  bytes: number;
  edge: GraphEdge;
}

/** Writes by GPU kernels as writes by the units that launched them (WAS_INFORMED_BY, in the batch or the store). */
async function launchers(store: GraphStore, batch: Batch, nodes: Map<string, GraphNode>, writes: Write[]): Promise<Write[]> {
  const kernels = writes.filter((w) => w.node.type === 'GpuKernel');
  if (kernels.length === 0) return writes;
  const by = new Map<string, string>();
  for (const e of batch.edges) if (e.type === 'WAS_INFORMED_BY' && nodes.get(e.from)?.type === 'GpuKernel') by.set(e.from, e.to);
  const missing = kernels.filter((k) => !by.has(k.node.id)).map((k) => ({ id: k.node.id, bound: Number.MAX_SAFE_INTEGER }));
  for (const st of missing.length > 0 ? await store.expand(missing, 'backward') : []) {
    if (st.edge.type === 'WAS_INFORMED_BY' && st.edge.from === st.via) by.set(st.via, st.neighbor);
  }
  const ids = [...new Set(by.values())];
  const found = new Map(ids.filter((id) => nodes.has(id)).map((id) => [id, nodes.get(id)!]));
  for (const n of await store.getNodes(ids.filter((id) => !found.has(id)))) found.set(n.id, n);
  return writes.flatMap((w) => {
    if (w.node.type !== 'GpuKernel') return [w];
    const u = found.get(by.get(w.node.id) ?? '');
    return u ? [{ ...w, node: u }] : [];
  });
}

/**
 * The other invocation whose data a GPU read may return, or none. A read uses the buffer versions
 * that held the bytes it copied (the agent's gpu.ts), so a version's writer is who left them. For a
 * buffer with no versions (an older agent's), the buffer is one place: the read returns another
 * invocation's data unless the reader wrote the buffer after every other writer's last possible
 * write before the read, and at least as many bytes as it reads (an over-read reaches past it).
 */
function gpuLeftBy(writes: Write[], reader: Extract<GraphNode, { type: 'Unit' }>, read: GraphEdge): GraphNode | undefined {
  const t = read.lastTime;
  const others = writes.filter((w) => w.node.type === 'Unit' && w.node.callId !== reader.callId);
  if (others.length === 0) return undefined;
  // Repeats collapse into one edge: a write is known at first and last; between them, possibly at any time.
  const latestOther = others.reduce((a, w) => (Math.min(w.last, t) > Math.min(a.last, t) ? w : a));
  const own = writes.filter((w) => w.node.type === 'Unit' && w.node.callId === reader.callId);
  const ownLatest = Math.max(-1, ...own.map((w) => (w.last <= t ? w.last : w.first)));
  const ownBytes = own.reduce((n, w) => n + w.bytes, 0);
  if (ownLatest > Math.min(latestOther.last, t) && read.bytes <= ownBytes) return undefined;
  return latestOther.node;
}

/**
 * Who wrote each entity a unit of the batch reads (files, GPU buffers), and when: WAS_GENERATED_BY
 * edges in the batch and in the store, fetched for all of them at once.
 */
async function writerIndex(store: GraphStore, batch: Batch, nodes: Map<string, GraphNode>): Promise<(entity: string, t: number) => Write[]> {
  const bound = new Map<string, number>();
  for (const e of batch.edges) {
    if (e.type !== 'USED' || nodes.get(e.from)?.type !== 'Unit') continue;
    const to = nodes.get(e.to)?.type;
    if (to === 'File' || to === 'GpuBuffer') bound.set(e.to, Math.max(bound.get(e.to) ?? 0, e.lastTime));
  }
  const writes = new Map<string, { writer: string; first: number; last: number; bytes: number; edge: GraphEdge }[]>();
  const add = (entity: string, writer: string, e: GraphEdge) => writes.set(entity, [...(writes.get(entity) ?? []), { writer, first: e.firstTime, last: e.lastTime, bytes: e.bytes, edge: e }]);
  for (const e of batch.edges) if (e.type === 'WAS_GENERATED_BY' && bound.has(e.from)) add(e.from, e.to, e);
  const frontier = [...bound].map(([id, t]) => ({ id, bound: t }));
  for (const st of frontier.length > 0 ? await store.expand(frontier, 'backward') : []) {
    if (st.edge.type === 'WAS_GENERATED_BY') add(st.via, st.neighbor, st.edge);
  }
  const ids = new Set([...writes.values()].flat().map((w) => w.writer));
  const found = new Map([...ids].filter((id) => nodes.has(id)).map((id) => [id, nodes.get(id)!]));
  for (const n of await store.getNodes([...ids].filter((id) => !found.has(id)))) found.set(n.id, n);
  return (entity, t) => (writes.get(entity) ?? []).filter((w) => w.first <= t && found.has(w.writer)).map((w) => ({ node: found.get(w.writer)!, first: w.first, last: w.last, bytes: w.bytes, edge: w.edge }));
}

function addAlerts(batch: Batch, findings: Finding[]): number {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  for (const f of findings) {
    const a: AlertNode = {
      id: alertId(f.rule.id, f.subject.id, f.object?.id),
      type: 'Alert',
      rule: f.rule.id,
      severity: f.rule.severity as Severity,
      time: f.time,
      summary: f.summary.slice(0, 1024),
      subject: f.subject.id,
    };
    if (f.object) a.object = f.object.id;
    if (f.function) a.function = f.function.slice(0, 253);
    const { tenant, tenantUnknown } = f.subject as { tenant?: string; tenantUnknown?: true };
    if (tenant) a.tenant = tenant;
    // Its subject's tenant could not be read: deny by default, as for the subject (model/tenancy.ts).
    else if (tenantUnknown) a.tenantUnknown = true;
    const prev = nodes.get(a.id) as AlertNode | undefined;
    if (prev && prev.time <= a.time) continue;
    nodes.set(a.id, a);
    for (const target of [f.subject, f.object]) {
      if (!target) continue;
      const id = edgeId('CONCERNS', a.id, target.id);
      edges.set(id, { id, type: 'CONCERNS', from: a.id, to: target.id, firstTime: a.time, lastTime: a.time, count: 1, bytes: 0 });
    }
  }
  batch.nodes.push(...nodes.values());
  batch.edges.push(...edges.values());
  return nodes.size;
}
