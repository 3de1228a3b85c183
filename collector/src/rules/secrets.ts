import type { Batch, GraphEdge, GraphNode, UnitNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import type { Rule } from './rules.js';

type SecretRule = Extract<Rule, { kind: 'secret-access' }>;
type Hit = (time: number, summary: string, subject: GraphNode, object?: GraphNode) => void;

/** How far up a process's fork and exec ancestry the rule looks for the invocation that spawned it. */
const MAX_ANCESTRY = 16;
/** Earlier units of a function looked at for its baseline. */
const BASELINE_UNITS = 500;

/**
 * The `secret-access` rule: a function reading its own mounted secret at start-up, or as its
 * invocations always do, is its baseline; these raise:
 * - a read (or a failed open) of a secret path that is not mounted for the reader's instance
 *   (another function's secret, or probing for one);
 * - a read of its own secret by a process that an invocation spawned (fork and exec ancestry up to a Unit);
 * - a read of its own secret inside an invocation, when the function served other invocations
 *   before and none of them read that secret (the first invocation of a function sets the baseline).
 * Own secrets are the mount points the agent found below the secret roots of the instance's mount
 * namespace (`Instance.secrets`).
 */
export async function secretFindings(rule: SecretRule, batch: Batch, nodes: Map<string, GraphNode>, store: GraphStore, label: (n: GraphNode) => string, hit: Hit): Promise<void> {
  const reads = batch.edges.filter((e) => {
    const f = e.type === 'USED' ? nodes.get(e.to) : undefined;
    return f?.type === 'File' && f.volume === undefined && rule.match!(f.path);
  });
  if (reads.length === 0) return;
  const get = async (id: string): Promise<GraphNode | undefined> => nodes.get(id) ?? (await store.getNodes([id]))[0];
  for (const e of reads) {
    const file = nodes.get(e.to) as Extract<GraphNode, { type: 'File' }>;
    const actor = nodes.get(e.from);
    if (!actor || (actor.type !== 'Process' && actor.type !== 'Unit')) continue;
    const instanceId = actor.type === 'Unit' ? actor.instance : await associated(actor.id, batch, store);
    const instance = instanceId ? await get(instanceId) : undefined;
    const inst = instance?.type === 'Instance' ? instance : undefined;
    const fn = (actor.type === 'Unit' ? actor.function : undefined) ?? inst?.function;
    const tried = e.attrs?.rc !== undefined;
    const own = !tried && (inst?.secrets ?? []).some((m) => file.path === m || file.path.startsWith(`${m}/`));
    if (!own) {
      const whose = fn ? `not mounted for ${fn}` : 'not mounted for it';
      hit(e.firstTime, `${label(actor)} ${tried ? `tried to read (error ${-e.attrs!.rc!})` : 'read'} ${file.path}, a secret ${whose}`, actor, file);
      continue;
    }
    if (actor.type === 'Process') {
      const spawner = await spawningUnit(actor.id, batch, nodes, store);
      if (spawner) hit(e.firstTime, `${label(actor)}, spawned by invocation ${spawner.callId}, read ${fn ?? 'its function'}'s secret ${file.path}`, actor, file);
      continue;
    }
    if (fn === undefined) continue;
    const baseline = await functionBaseline(actor, fn, file.id, e, batch, nodes, store);
    if (baseline.others > 0 && baseline.readers === 0) {
      hit(e.firstTime, `${label(actor)} read ${fn}'s secret ${file.path}, which its ${baseline.others} earlier invocations never read`, actor, file);
    }
  }
}

/** The instance a process is associated with, from the batch or the store. */
async function associated(process: string, batch: Batch, store: GraphStore): Promise<string | undefined> {
  const here = batch.edges.find((x) => x.type === 'WAS_ASSOCIATED_WITH' && x.from === process);
  if (here) return here.to;
  const steps = await store.expand([{ id: process, bound: Number.MAX_SAFE_INTEGER }], 'backward');
  return steps.find((s) => s.edge.type === 'WAS_ASSOCIATED_WITH')?.neighbor;
}

/** A fork or an exec (not a signal or a ptrace, which also inform). */
const lineage = (e: GraphEdge) => e.type === 'WAS_INFORMED_BY' && !e.attrs?.signal && !e.attrs?.ptrace;

/** The unit (invocation) in whose thread the process or one of its ancestors was forked, if any. */
async function spawningUnit(process: string, batch: Batch, nodes: Map<string, GraphNode>, store: GraphStore): Promise<UnitNode | undefined> {
  let at = process;
  const seen = new Set<string>([at]);
  for (let hop = 0; hop < MAX_ANCESTRY; hop++) {
    let parent = batch.edges.find((x) => lineage(x) && x.from === at)?.to;
    if (parent === undefined) {
      const steps = await store.expand([{ id: at, bound: Number.MAX_SAFE_INTEGER }], 'backward');
      parent = steps.find((s) => lineage(s.edge))?.neighbor;
    }
    if (parent === undefined || seen.has(parent)) return undefined;
    seen.add(parent);
    const p = nodes.get(parent) ?? (await store.getNodes([parent]))[0];
    if (p?.type === 'Unit') return p;
    if (p?.type !== 'Process') return undefined;
    at = parent;
  }
  return undefined;
}

/**
 * The function's other invocations up to this read: how many there were (units of another call
 * id) and how many of them read this secret file.
 */
async function functionBaseline(
  unit: UnitNode, fn: string, file: string, read: GraphEdge, batch: Batch, nodes: Map<string, GraphNode>, store: GraphStore,
): Promise<{ others: number; readers: number }> {
  const other = (n: GraphNode | undefined): n is UnitNode => n?.type === 'Unit' && n.callId !== unit.callId && n.function === fn;
  const earlier = new Map<string, UnitNode>();
  for (const n of batch.nodes) if (other(n) && n.start <= read.firstTime) earlier.set(n.id, n);
  for (const n of await store.searchNodes({ type: 'Unit', function: fn, until: read.firstTime, limit: BASELINE_UNITS, offset: 0 })) if (other(n)) earlier.set(n.id, n);
  const readerIds = new Set<string>();
  for (const e of batch.edges) if (e.type === 'USED' && e.to === file && e.firstTime <= read.firstTime) readerIds.add(e.from);
  for (const s of await store.expand([{ id: file, bound: 0 }], 'forward')) if (s.edge.type === 'USED' && s.edge.firstTime <= read.firstTime) readerIds.add(s.neighbor);
  const readers = [...readerIds].filter((id) => id !== unit.id);
  const known = new Map(readers.filter((id) => nodes.has(id)).map((id) => [id, nodes.get(id)!]));
  for (const n of await store.getNodes(readers.filter((id) => !known.has(id)))) known.set(n.id, n);
  const readCalls = new Set([...known.values()].filter(other).map((u) => u.callId));
  return { others: new Set([...earlier.values()].map((u) => u.callId)).size, readers: readCalls.size };
}

