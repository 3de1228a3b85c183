import { hashId, isCodePath, isLoopback, isSystemPath, runtimePrefix, type GraphEdge, type GraphNode, type SummaryNode, type TenantScope } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { trace, type TraceResult } from './trace.js';
import { adjacency, dataPaths } from './data-paths.js';
import { baselineKeys, entityKey, parentKey, type Baseline } from './baseline.js';
import { attackSteps } from './attack-steps.js';

/** A trace reduced to its causal chain: the same graph format, folded context in groups beside it. */
export interface AttackView extends TraceResult {
  view: 'attack';
  /**
   * What was folded, in groups that say what they hold (`python3 start-up: 109 files`), each
   * hanging from the shown node it is context of: context, not nodes of the view.
   */
  context: SummaryNode[];
  /** What the summaries hold: the folded nodes and every edge of the full trace that touches one. */
  folded: { nodes: GraphNode[]; edges: GraphEdge[] };
  /** Nodes of the trace that no data path links to the start (data-paths.ts): not shown, not folded; the full view has them. */
  pruned: string[];
  /** The chain in plain words, in causal (time) order. */
  steps: string[];
}

/** Node types never folded: they are the chain itself (activities of invocations, alerts, loss). */
const ALWAYS_KEPT = new Set<GraphNode['type']>(['Alert', 'Invocation', 'Unit', 'GpuKernel', 'GpuBuffer', 'Gap']);

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1) || p;
/** A stream between processes: a pipe, a socket address, a connection. */
const isStream = (n: GraphNode) => n.type === 'Pipe' || n.type === 'Endpoint' || isConnection(n);
/** A Connection entity (the agent's connections.ts): one direction of one connection. Read by field, so views of stores without them work alike. */
const isConnection = (n: GraphNode) => (n.type as string) === 'Connection';
/** What a client sent on a connection: a request, as the server read it. */
const isRequest = (n: GraphNode) => isConnection(n) && (n as unknown as { flow?: string }).flow === 'toServer';

/**
 * The attack view of a trace (documented in ARCHITECTURE.md, "Attack view"). Deterministic: the
 * same trace and store give the same view.
 * 0. Pruned: what no data path links to the start (data-paths.ts: a path through a socket goes
 *    from one side to the other, and a loopback or wildcard address stays in its network
 *    namespace). Listed in `pruned`; the full view still has it.
 * 0b. From an alert about a read (its subject USED its object), the forward trace from the
 *    subject from the alert's time on is added, pruned the same way, without other alerts
 *    (alertedReadForward()): where what was read went.
 * Then it folds, and never drops:
 * 1. Kept always: the start node and what it concerns, invocations, units, GPU work, gaps, file
 *    versions written during capture (they carry data into the effect), and any process that
 *    generated one of those.
 * 2. Start-up: a process that began before the first unit of the trace (the image units start
 *    from: interpreter, watchdog) folds into `EXE start-up`, with its instance, unless it made a
 *    kept node other than a stream (a pipe, an endpoint) the start does not concern; so does a
 *    stream that only such processes wrote (the watchdog's proxying to the handler, the handler's
 *    output to the watchdog, its telemetry).
 * 3. Content found before capture (file version 0, endpoints) that only folded processes used
 *    joins their start-up; otherwise, what other invocations of the same function also used
 *    folds into `FUNCTION baseline`; system files read as found (under /usr, /lib, /etc…, an
 *    interpreter's library, shared objects, or the installation PREFIX of a process's
 *    PREFIX/bin/EXE) into `system and runtime files`; loopback
 *    peers that were only accepted (never connected to) into `loopback peers`.
 * 3b. The function's own state: a file version its units alone wrote and read in the trace, in a
 *    directory its other invocations write in, folds into `FUNCTION baseline` (not code, not what
 *    the start concerns), with the writers it alone brought in (ownState()).
 * 4. Requests received from outside the chain (a connection's client-to-server direction that no
 *    kept activity wrote: from a caller not watched, through the watchdog's relay) fold into
 *    `requests received`; the steps still say who sent each one.
 * 5. Directories changed during capture (names added or removed) fold into `directories changed`:
 *    the files made in them stay, each a node.
 * 6. Responses no kept activity read fold into `responses sent` (the steps still tell them);
 *    telemetry spans, and the telemetry receiver's endpoint (marked at capture), into `telemetry`.
 * 7. The gateway (marked at capture), when every activity that wrote to it made a call the view
 *    draws (WAS_INFORMED_BY from the callee), into `calls through the gateway` (callsDrawn()).
 * 8. Later versions of a file the chain wrote, appended by writers the trace does not hold and
 *    read by nothing in it, into `later versions by others` (laterVersions()).
 * Everything else stays. Every folded node is listed in one `context` group and in `folded` (with
 * every edge that touches it); `nodes` and `edges` are the shown graph only, and a group hangs from
 * the shown node it is context of (see owners()), so the view's nodes are what carries the chain.
 */
export async function attackView(store: GraphStore, traced: TraceResult, scope: TenantScope): Promise<AttackView> {
  // Rule 0: only what a data path links to the start.
  const reach = dataPaths(traced);
  let full: TraceResult = { ...traced, ends: traced.ends.filter((id) => reach.has(id)), nodes: traced.nodes.filter((n) => reach.has(n.id)), edges: traced.edges.filter((e) => reach.has(e.from) && reach.has(e.to)) };
  // Rule 0b: an alert about a read also shows where what was read went.
  full = withReadForward(full, await alertedReadForward(store, traced, scope));
  const shownOrFolded = new Set(full.nodes.map((n) => n.id));
  const pruned = traced.nodes.filter((n) => !shownOrFolded.has(n.id)).map((n) => n.id).sort();
  const byId = new Map(full.nodes.map((n) => [n.id, n]));
  const { out, into } = adjacency(full.edges);
  const pinned = new Set([full.start, ...(out.get(full.start) ?? []).filter((e) => e.type === 'CONCERNS').map((e) => e.to)]);
  const unitStarts = full.nodes.filter((n) => n.type === 'Unit').map((n) => n.start);
  const firstUnit = unitStarts.length > 0 ? Math.min(...unitStarts) : undefined;
  const writers = (id: string) => (out.get(id) ?? []).filter((e) => e.type === 'WAS_GENERATED_BY').map((e) => e.to);

  const group = new Map<string, string>(); // node id → group key
  const keep = (n: GraphNode) =>
    pinned.has(n.id) || ALWAYS_KEPT.has(n.type) || (n.type === 'File' && n.version > 0 && n.fileType !== 'directory') || (n.type === 'Endpoint' && writers(n.id).length > 0);
  // Rule 2: processes that are start-up context, unless they made something kept (a relay in their namespace does not count).
  const sorted = [...full.nodes].sort((a, b) => a.id.localeCompare(b.id));
  for (const n of sorted) {
    if (n.type !== 'Process' || pinned.has(n.id) || firstUnit === undefined || n.start >= firstUnit) continue;
    const made = (into.get(n.id) ?? []).some((e) => {
      const m = byId.get(e.from)!;
      return (e.type === 'WAS_GENERATED_BY' || e.type === 'WAS_INVALIDATED_BY') && keep(m) && (pinned.has(m.id) || !isStream(m));
    });
    if (!made) group.set(n.id, `start-up\0${base(n.exe)}`);
  }
  for (const n of sorted) {
    if (n.type !== 'Instance' || pinned.has(n.id)) continue;
    const by = (into.get(n.id) ?? []).map((e) => group.get(e.from)).find((g) => g !== undefined);
    if (by) group.set(n.id, by);
  }
  // Rule 6, first: the product's telemetry receiver (marked at capture) is telemetry, whoever wrote to it.
  for (const n of sorted) if (!pinned.has(n.id) && n.type === 'Endpoint' && n.role === 'telemetry') group.set(n.id, 'spans\0');
  for (const n of sorted) {
    if (pinned.has(n.id) || !isStream(n) || group.has(n.id)) continue;
    const by = writers(n.id).map((w) => group.get(w));
    if (by.length > 0 && by.every((g) => g !== undefined)) group.set(n.id, [...by].sort()[0]!);
  }
  // Rule 3: content found before capture.
  const runtimes = [...new Set(full.nodes.flatMap((n) => (n.type === 'Process' ? [runtimePrefix(n.exe)] : []).filter((r): r is string => r !== undefined)))].sort();
  const functions = [...new Set(full.nodes.flatMap((n) => (n.type === 'Unit' && n.function ? [n.function] : [])))].sort();
  const callIds = new Set(full.nodes.flatMap((n) => (n.type === 'Unit' || n.type === 'Invocation' ? [n.callId] : [])));
  const baseline = await baselineKeys(store, functions, callIds, scope);
  for (const n of sorted) {
    if (keep(n) || group.has(n.id) || (n.type !== 'File' && n.type !== 'Endpoint') || (n.type === 'File' && n.version > 0)) continue;
    const users = (into.get(n.id) ?? []).filter((e) => e.type === 'USED');
    // A version another write extended carried data into the effect.
    if (users.length === 0 || (into.get(n.id) ?? []).some((e) => e.type === 'WAS_DERIVED_FROM')) continue;
    const userGroups = users.map((e) => group.get(e.from));
    if (userGroups.every((g) => g !== undefined)) {
      group.set(n.id, [...userGroups].sort()[0]!);
      continue;
    }
    const fns = users.flatMap((e) => {
      const u = byId.get(e.from);
      return u?.type === 'Unit' && u.function ? [u.function] : [];
    });
    const key = entityKey(n);
    // Used as the function's other invocations use it, or the listing of a directory they keep their files in.
    const fn = [...new Set(fns)].sort().find((f) => baseline.get(f)?.used.has(key) || (n.type === 'File' && n.version === 0 && baseline.get(f)?.writesIn.has(key)));
    if (fn) group.set(n.id, `baseline\0${fn}`);
    else if (n.type === 'File' && isSystemPath(n.path, runtimes)) group.set(n.id, 'system\0');
    else if (n.type === 'Endpoint' && isLoopback(n.address) && users.every((e) => !e.attrs?.initiated)) group.set(n.id, 'peers\0');
  }
  // Rule 3b: the function's own state, written and read back by its invocations in their normal flow.
  ownState(sorted, byId, out, into, pinned, baseline, group);
  // Rule 4: requests received from outside the chain (connections the agent models: data the client sent).
  for (const n of sorted) if (isRequest(n) && !pinned.has(n.id) && !group.has(n.id) && writers(n.id).every((w) => group.has(w))) group.set(n.id, 'requests\0');
  // Rule 5: directories changed during capture.
  for (const n of sorted) if (!pinned.has(n.id) && !group.has(n.id) && n.type === 'File' && n.version > 0 && n.fileType === 'directory') group.set(n.id, 'directories\0');
  // Rule 6: responses to callers not watched (a connection's server-to-client direction no kept activity read), and telemetry spans.
  for (const n of sorted) {
    if (pinned.has(n.id) || group.has(n.id)) continue;
    if (n.type === 'Span') group.set(n.id, 'spans\0');
    else if (isConnection(n) && (n as unknown as { flow?: string }).flow === 'toClient' && (into.get(n.id) ?? []).every((e) => e.type !== 'USED' || group.has(e.from))) group.set(n.id, 'responses\0');
  }
  // Rule 7: the gateway, where every call through it is drawn as the call between two invocations.
  for (const n of sorted) if (!pinned.has(n.id) && !group.has(n.id) && n.type === 'Endpoint' && n.role === 'gateway' && callsDrawn(n.id, byId, out, into, group)) group.set(n.id, 'calls\0');
  // Rule 8: later versions of a file the chain wrote, appended by writers the trace does not hold.
  laterVersions(sorted, byId, out, into, pinned, group);
  return fold(full, byId, group, pruned);
}

/**
 * Rule 3b. A file version written during capture folds into `FUNCTION baseline` when it is not
 * code (isCodePath), not what the start concerns, not part of an append chain (no
 * WAS_DERIVED_FROM either way), units of that one function alone wrote it and read it in the trace,
 * and the function's other invocations (outside the trace) write files in its directory: what the
 * function keeps and serves in its normal flow (a catalog's product files). The units that wrote it
 * and their invocations join the group when every edge that brought them into the trace comes from
 * it: that write is all they gave. Content another function wrote always stays a node.
 */
function ownState(sorted: GraphNode[], byId: Map<string, GraphNode>, out: Map<string, GraphEdge[]>, into: Map<string, GraphEdge[]>, pinned: Set<string>, baseline: Map<string, Baseline>, group: Map<string, string>): void {
  const unitFn = (id: string) => {
    const u = byId.get(id);
    return u?.type === 'Unit' ? u.function : undefined;
  };
  for (const n of sorted) {
    if (n.type !== 'File' || n.version === 0 || n.fileType === 'directory' || pinned.has(n.id) || group.has(n.id) || isCodePath(n.path)) continue;
    const ins = into.get(n.id) ?? [];
    const users = ins.filter((e) => e.type === 'USED').map((e) => unitFn(e.from));
    // Its writers and what it derives from are its own edges; readers and later versions point at it.
    const own = out.get(n.id) ?? [];
    if (users.length === 0 || own.some((e) => e.type === 'WAS_DERIVED_FROM') || ins.some((e) => e.type === 'WAS_DERIVED_FROM')) continue;
    const wrote = own.filter((e) => e.type === 'WAS_GENERATED_BY').map((e) => unitFn(e.to));
    const fns = new Set([...users, ...wrote]);
    const fn = [...fns][0];
    if (wrote.length === 0 || fns.size !== 1 || fn === undefined) continue;
    const dir = parentKey(n);
    if (dir !== undefined && baseline.get(fn)?.writesIn.has(dir)) group.set(n.id, `baseline\0${fn}`);
  }
  // Writers (units, then their invocations) whose every reason to be in the trace is in the group.
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of sorted) {
      if ((n.type !== 'Unit' && n.type !== 'Invocation') || pinned.has(n.id) || group.has(n.id)) continue;
      const ins = into.get(n.id) ?? [];
      const g = group.get(ins[0]?.from ?? '');
      if (g === undefined || !g.startsWith('baseline\0') || !ins.every((e) => group.get(e.from) === g)) continue;
      if (n.type === 'Unit' && `baseline\0${n.function ?? ''}` !== g) continue;
      group.set(n.id, g);
      changed = true;
    }
  }
}

/**
 * Rule 7. Whether every activity that wrote to gateway endpoint `id` is shown and made a call the
 * view draws: its invocation (or itself) WAS_INFORMED_BY-linked from another shown invocation or
 * unit (the stitched call). Then the gateway is the route of those calls, context of them; a
 * write to it with no call drawn (a callee not watched) leaves it a node.
 */
function callsDrawn(id: string, byId: Map<string, GraphNode>, out: Map<string, GraphEdge[]>, into: Map<string, GraphEdge[]>, group: Map<string, string>): boolean {
  const writers = (out.get(id) ?? []).filter((e) => e.type === 'WAS_GENERATED_BY').map((e) => e.to);
  const invocationOf = (a: string) => (byId.get(a)?.type === 'Invocation' ? a : (out.get(a) ?? []).find((e) => e.type === 'PART_OF')?.to);
  const shownCallee = (x: string) => !group.has(x) && ['Invocation', 'Unit'].includes(byId.get(x)?.type ?? '');
  return writers.length > 0 && writers.every((w) => {
    if (group.has(w)) return false;
    const inv = invocationOf(w);
    return [w, inv].some((x) => x !== undefined && (into.get(x) ?? []).some((e) => e.type === 'WAS_INFORMED_BY' && e.from !== inv && invocationOf(e.from) !== inv && shownCallee(e.from)));
  });
}

/**
 * Rule 8. A file version that extends (WAS_DERIVED_FROM) a shown version, or one already in this
 * group, whose writer the trace does not hold (a forward trace reaches a later append to a file
 * the chain wrote, never who appended), and that nothing in the trace read or extended but versions
 * of this group: the file growing by others' writes after the chain's, context of the version it
 * extends. One read, or a writer in the trace, keeps it a node.
 */
function laterVersions(sorted: GraphNode[], byId: Map<string, GraphNode>, out: Map<string, GraphEdge[]>, into: Map<string, GraphEdge[]>, pinned: Set<string>, group: Map<string, string>): void {
  const LATER = 'later\0';
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of sorted) {
      if (n.type !== 'File' || n.version === 0 || pinned.has(n.id) || group.has(n.id)) continue;
      const own = out.get(n.id) ?? [];
      const bases = own.filter((e) => e.type === 'WAS_DERIVED_FROM').map((e) => e.to);
      if (bases.length === 0 || own.some((e) => e.type !== 'WAS_DERIVED_FROM')) continue;
      if (!bases.every((b) => byId.get(b)?.type === 'File' && (!group.has(b) || group.get(b) === LATER))) continue;
      // Nothing read it or extended it, but later versions of this group (the chain's newest first).
      if ((into.get(n.id) ?? []).some((e) => e.type !== 'WAS_DERIVED_FROM' || group.get(e.from) !== LATER)) continue;
      group.set(n.id, LATER);
      changed = true;
    }
  }
}

function fold(full: TraceResult, byId: Map<string, GraphNode>, group: Map<string, string>, pruned: string[]): AttackView {
  const members = new Map<string, string[]>();
  for (const [id, g] of group) {
    if (!members.has(g)) members.set(g, []);
    members.get(g)!.push(id);
  }
  const keys = [...members.keys()].sort();
  const summaryId = (g: string) => hashId('sum', ['Summary', full.start, full.direction, g]);
  const on = owners(full, group, keys);
  const context: SummaryNode[] = keys.map((g) => {
    const ids = members.get(g)!.sort();
    const [kind, name] = g.split('\0') as [SummaryNode['kind'], string];
    const holds: Record<string, number> = {};
    for (const m of ids) holds[byId.get(m)!.type] = (holds[byId.get(m)!.type] ?? 0) + 1;
    const what = Object.entries(holds)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([t, c]) => `${c} ${plural(t, c)}`)
      .join(', ');
    const title = TITLES[kind](name);
    return { id: summaryId(g), type: 'Summary', kind, label: `${title}: ${what}`, members: ids, holds, on: on.get(g) ?? full.start };
  });
  const holder = new Map<string, string>();
  for (const c of context) for (const m of c.members) holder.set(m, c.id);
  const kept = full.nodes.filter((n) => !group.has(n.id));
  const requests = full.nodes.filter((n) => group.get(n.id) === 'requests\0' || group.get(n.id) === 'responses\0');
  const requestIds = new Set(requests.map((n) => n.id));
  // The graph keeps only edges between shown nodes; every edge that touches a folded node is in `folded`.
  const edges = full.edges.filter((e) => !group.has(e.from) && !group.has(e.to)).sort((a, b) => a.firstTime - b.firstTime || a.id.localeCompare(b.id));
  return {
    start: full.start,
    direction: full.direction,
    truncated: full.truncated,
    ends: [...new Set(full.ends.map((id) => holder.get(id) ?? id))], // a folded end: its group
    view: 'attack',
    nodes: kept,
    edges,
    context,
    folded: { nodes: full.nodes.filter((n) => group.has(n.id)), edges: full.edges.filter((e) => group.has(e.from) || group.has(e.to)) },
    pruned,
    // The requests and responses folded (rules 4 and 6) still tell who sent each invocation its request, and what it answered.
    steps: attackSteps([...kept, ...requests], [...edges, ...full.edges.filter((e) => (requestIds.has(e.to) && !group.has(e.from)) || (requestIds.has(e.from) && !group.has(e.to)))]),
  };
}

const TITLES: Record<SummaryNode['kind'], (name: string) => string> = {
  'start-up': (name) => `${name} start-up`,
  baseline: (name) => `${name} baseline`,
  system: () => 'system and runtime files',
  peers: () => 'loopback peers',
  directories: () => 'directories changed',
  requests: () => 'requests received',
  responses: () => 'responses sent',
  spans: () => 'telemetry',
  calls: () => 'calls through the gateway',
  later: () => 'later versions by others',
};

/**
 * Rule 0b. From an alert about a read (its subject USED its object, in the trace), the forward
 * trace from the subject from the alert's time on: where what was read could have gone (the
 * secret used to call another function, what that call wrote). Pruned by data paths as rule 0
 * does; other alerts it reaches are left out (an alert is not data). Undefined for any other start.
 */
async function alertedReadForward(store: GraphStore, traced: TraceResult, scope: TenantScope): Promise<TraceResult | undefined> {
  if (traced.direction !== 'backward') return undefined;
  const alert = traced.nodes.find((n) => n.id === traced.start);
  if (alert?.type !== 'Alert' || alert.object === undefined) return undefined;
  if (!traced.edges.some((e) => e.type === 'USED' && e.from === alert.subject && e.to === alert.object)) return undefined;
  const forward = await trace(store, alert.subject, { direction: 'forward', since: alert.time, scope });
  const reach = dataPaths(forward);
  const nodes = forward.nodes.filter((n) => reach.has(n.id) && n.type !== 'Alert');
  const ids = new Set(nodes.map((n) => n.id));
  return { ...forward, nodes, edges: forward.edges.filter((e) => ids.has(e.from) && ids.has(e.to)) };
}

/**
 * The backward trace with the forward part added: the nodes it does not hold, and the forward
 * edges that touch one of those. An edge between two nodes of the backward trace is not added (an
 * invocation sending back to the address its cause came from would draw a cause after its effect).
 */
function withReadForward(full: TraceResult, forward: TraceResult | undefined): TraceResult {
  if (!forward) return full;
  const ids = new Set(full.nodes.map((n) => n.id));
  const edgeIds = new Set(full.edges.map((e) => e.id));
  const added = forward.nodes.filter((n) => !ids.has(n.id));
  const fresh = new Set(added.map((n) => n.id));
  const edges = [...full.edges, ...forward.edges.filter((e) => !edgeIds.has(e.id) && (fresh.has(e.from) || fresh.has(e.to)) && (ids.has(e.from) || fresh.has(e.from)) && (ids.has(e.to) || fresh.has(e.to)))];
  return { ...full, nodes: [...full.nodes, ...added], edges };
}

/**
 * The shown node each group hangs from: of the edges between a member and a shown node, the
 * earliest (then by id) names it. A group linked only to other groups (a watchdog's start-up, linked
 * to the interpreter it started) hangs from the node those groups hang from, in the same order.
 */
function owners(full: TraceResult, group: Map<string, string>, keys: string[]): Map<string, string> {
  const best = new Map<string, { t: number; id: string }>();
  const links = new Map<string, { t: number; g: string }[]>();
  const better = (a: { t: number; id: string }, b: { t: number; id: string } | undefined) => !b || a.t < b.t || (a.t === b.t && a.id < b.id);
  for (const e of full.edges) {
    const [gf, gt] = [group.get(e.from), group.get(e.to)];
    if (gf !== undefined && gt === undefined && better({ t: e.firstTime, id: e.to }, best.get(gf))) best.set(gf, { t: e.firstTime, id: e.to });
    if (gt !== undefined && gf === undefined && better({ t: e.firstTime, id: e.from }, best.get(gt))) best.set(gt, { t: e.firstTime, id: e.from });
    if (gf !== undefined && gt !== undefined && gf !== gt) {
      if (!links.has(gf)) links.set(gf, []);
      if (!links.has(gt)) links.set(gt, []);
      links.get(gf)!.push({ t: e.firstTime, g: gt });
      links.get(gt)!.push({ t: e.firstTime, g: gf });
    }
  }
  const out = new Map<string, string>();
  for (const [g, b] of best) out.set(g, b.id);
  // Groups with no shown neighbour take their linked groups' owner, nearest groups first.
  for (let changed = true; changed; ) {
    changed = false;
    for (const g of keys) {
      if (out.has(g)) continue;
      const via = (links.get(g) ?? []).filter((l) => out.has(l.g)).sort((a, b) => a.t - b.t || a.g.localeCompare(b.g))[0];
      if (via) {
        out.set(g, out.get(via.g)!);
        changed = true;
      }
    }
  }
  return out;
}

function plural(type: string, n: number): string {
  const word = type === 'Process' ? 'process' : type === 'Endpoint' ? 'endpoint' : type === 'Instance' ? 'instance' : type === 'File' ? 'file' : type.toLowerCase();
  if (n === 1) return word;
  return word.endsWith('s') ? `${word}es` : `${word}s`;
}
