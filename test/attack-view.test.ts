import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  ALL_TENANTS, alertId, connectionId, edgeId, endpointId, fileId, instanceId, invocationId, processId, spanNodeId, unitId,
  type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode,
} from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { attackView, buildServer, trace, type AttackView } from '@faasprov/graph-service';
import { faasprov, tempDir } from './helpers.js';

/**
 * A warm python process (started at 10, reads its start-up files) serves three invocations of f:
 * a fetches a payload from the attacker and writes it; c (benign, concurrent) reads the config and
 * its prices; b reads the payload, the config (as every invocation does), the cards and a CA file,
 * and sends the cards to the attacker, which raises the alert. Its watchdog W relays each request to
 * the handler's loopback address L. Beside them, two other instances share addresses with it by
 * name only: d, in a network namespace of its own, answered a request on its own 127.0.0.1:5000;
 * R, another function's process, and P both send telemetry to one collector X.
 */
function scenario() {
  const node = 'n1';
  const P: GraphNode = { id: processId(node, 7, 10), type: 'Process', node, pid: 7, start: 10, exe: '/usr/bin/python3', argv: ['python3', 'index.py'] };
  const I: GraphNode = { id: instanceId(node, 7, 10), type: 'Instance', node, rootPid: 7, start: 10, mode: 'local', function: 'f' };
  const file = (path: string, version: number): GraphNode => ({ id: fileId(node, path, version), type: 'File', node, path, version });
  const inv = (callId: string, start: number): GraphNode => ({ id: invocationId(callId), type: 'Invocation', callId, start, function: 'f', source: 'shim' });
  const unit = (callId: string, start: number): GraphNode => ({ id: unitId(node, 7, 10, callId, start), type: 'Unit', node, pid: 7, processStart: 10, callId, start, function: 'f' });
  const n = {
    P, I, os: file('/usr/lib/python3.11/os.py', 0), handler: file('/home/app/index.py', 0),
    A: inv('a', 100), uA: unit('a', 100), B: inv('b', 200), uB: unit('b', 200), C: inv('c', 150), uC: unit('c', 150),
    attacker: { id: endpointId('10.0.0.5', 4711), type: 'Endpoint', address: '10.0.0.5', port: 4711 } as GraphNode,
    payload: file('/tmp/payload.py', 120), cards: file('/data/cards', 0), cert: file('/etc/ssl/cert.pem', 0),
    config: file('/home/app/config.json', 0), prices: file('/data/prices', 0),
    plugins: { ...file('/tmp/plugins', 115), fileType: 'directory' } as GraphNode,
    W: { id: processId(node, 6, 5), type: 'Process', node, pid: 6, start: 5, exe: '/usr/bin/fwatchdog', argv: ['fwatchdog'] } as GraphNode,
    L: { id: endpointId('127.0.0.1', 5000, node), type: 'Endpoint', address: '127.0.0.1', port: 5000, node } as GraphNode,
    X: { id: endpointId('10.0.0.1', 4318), type: 'Endpoint', address: '10.0.0.1', port: 4318 } as GraphNode,
    Q: { id: processId(node, 9, 12), type: 'Process', node, pid: 9, start: 12, exe: '/usr/bin/python3', argv: ['python3', 'index.py'] } as GraphNode,
    I2: { id: instanceId(node, 9, 12), type: 'Instance', node, rootPid: 9, start: 12, mode: 'local', function: 'g', addresses: ['10.0.0.9'] } as GraphNode,
    D: { id: invocationId('d'), type: 'Invocation', callId: 'd', start: 180, function: 'g', source: 'shim' } as GraphNode,
    uD: { id: unitId(node, 9, 12, 'd', 180), type: 'Unit', node, pid: 9, processStart: 12, callId: 'd', start: 180, function: 'g' } as GraphNode,
    // b's request: as the handler read it from the watchdog, derived from what a caller not watched sent the watchdog.
    reqB: { id: connectionId(node, 7, 5, 198, 'toServer'), type: 'Connection', node, pid: 7, fd: 5, opened: 198, flow: 'toServer', server: '127.0.0.1:5000', client: '127.0.0.1:40000' } as GraphNode,
    inB: { id: connectionId(node, 6, 4, 197, 'toServer'), type: 'Connection', node, pid: 6, fd: 4, opened: 197, flow: 'toServer', server: '[::]:8080', client: '10.0.0.77:5555' } as GraphNode,
    R: { id: processId(node, 3, 3), type: 'Process', node, pid: 3, start: 3, exe: '/usr/bin/node', argv: ['node', 'index.js'] } as GraphNode,
    I3: { id: instanceId(node, 3, 3), type: 'Instance', node, rootPid: 3, start: 3, mode: 'local', function: 'h' } as GraphNode,
  };
  const alert: GraphNode = { id: alertId('egress', n.uB.id, n.attacker.id), type: 'Alert', rule: 'egress', severity: 'high', time: 230, summary: 'b sent data to 10.0.0.5:4711', subject: n.uB.id, object: n.attacker.id, function: 'f' };
  const e = (type: EdgeType, from: GraphNode, to: GraphNode, t: number, bytes = 1, attrs?: EdgeAttrs): GraphEdge => ({
    id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes, ...(attrs ? { attrs } : {}),
  });
  const edges = [
    e('WAS_ASSOCIATED_WITH', n.P, n.I, 10), e('USED', n.P, n.os, 11), e('USED', n.P, n.handler, 12),
    e('PART_OF', n.uA, n.A, 100), e('WAS_INFORMED_BY', n.uA, n.P, 100), e('USED', n.uA, n.attacker, 110, 0, { initiated: true }), e('WAS_GENERATED_BY', n.payload, n.uA, 120, 40),
    e('PART_OF', n.uC, n.C, 150), e('WAS_INFORMED_BY', n.uC, n.P, 150), e('USED', n.uC, n.config, 160), e('USED', n.uC, n.prices, 170),
    e('PART_OF', n.uB, n.B, 200), e('WAS_INFORMED_BY', n.uB, n.P, 200), e('USED', n.uB, n.payload, 210, 40), e('USED', n.uB, n.config, 215),
    e('USED', n.uB, n.cards, 220, 19), e('USED', n.uB, n.cert, 225), e('WAS_GENERATED_BY', n.attacker, n.uB, 230, 19),
    e('CONCERNS', alert, n.uB, 230), e('CONCERNS', alert, n.attacker, 230),
    // a made a directory and b listed it.
    e('WAS_GENERATED_BY', n.plugins, n.uA, 115, 0), e('USED', n.uB, n.plugins, 205, 64),
    // The relay: W started P, connects to L and writes each request there; a and b read theirs.
    e('WAS_INFORMED_BY', n.P, n.W, 10), e('USED', n.W, n.L, 99, 0, { initiated: true }), { ...e('WAS_GENERATED_BY', n.L, n.W, 99, 600), lastTime: 199 },
    e('USED', n.uA, n.L, 100, 300), e('USED', n.uB, n.L, 200, 300),
    e('USED', n.uB, n.reqB, 198, 300), e('WAS_DERIVED_FROM', n.reqB, n.inB, 198, 300),
    // d's answer went to its own loopback address, in its own namespace.
    e('WAS_ASSOCIATED_WITH', n.Q, n.I2, 12), e('PART_OF', n.uD, n.D, 180), e('WAS_INFORMED_BY', n.uD, n.Q, 180), e('WAS_GENERATED_BY', n.L, n.uD, 185, 50),
    // Telemetry: P and R are clients of X; what R sent went to X, not to P.
    e('USED', n.P, n.X, 50, 100, { initiated: true }), e('WAS_GENERATED_BY', n.X, n.P, 50, 100),
    e('WAS_ASSOCIATED_WITH', n.R, n.I3, 3), e('USED', n.R, n.X, 30, 100, { initiated: true }), e('WAS_GENERATED_BY', n.X, n.R, 30, 100),
  ];
  return { n, alert, nodes: [...Object.values(n), alert], edges };
}

describe('attack view', () => {
  const dir = tempDir('fp-attackview-');
  const s = scenario();
  let store: SqliteGraphStore;
  let app: FastifyInstance;
  let url: string;
  let view: AttackView;

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    await store.applyBatch({ agent: 'n1:t', seq: 0, nodes: s.nodes, edges: s.edges });
    view = await attackView(store, await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS }), ALL_TENANTS);
    app = await buildServer({ store });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 60000);

  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the causal chain and nothing else: the view has no node beside it', () => {
    const { n, alert } = s;
    expect(view.nodes.map((x) => x.id).sort()).toEqual([alert, n.uB, n.uA, n.A, n.B, n.attacker, n.payload, n.cards].map((x) => x.id).sort());
    const shown = new Set(view.nodes.map((x) => x.id));
    expect(view.edges.filter((e) => !shown.has(e.from) || !shown.has(e.to))).toEqual([]);
  });

  it('folds start-up, the relay, the baseline, system files, requests and directories into context groups that say what they hold, each inside the shown node it is context of', () => {
    const { n } = s;
    const byLabel = Object.fromEntries(view.context.map((x) => [x.label, { members: [...x.members].sort(), on: x.on }]));
    expect(byLabel).toEqual({
      // The process the units ran in (with its telemetry stream): first linked (at 100) to unit a.
      'python3 start-up: 1 endpoint, 2 files, 1 instance, 1 process': { members: [n.P, n.I, n.os, n.handler, n.X].map((x) => x.id).sort(), on: n.uA.id },
      // The watchdog and the loopback address it relays requests through.
      'fwatchdog start-up: 1 endpoint, 1 process': { members: [n.W, n.L].map((x) => x.id).sort(), on: n.uA.id },
      'f baseline: 1 file': { members: [n.config.id], on: n.uB.id },
      // b's request, through the relay: no watched activity wrote it.
      'requests received: 2 connections': { members: [n.reqB, n.inB].map((x) => x.id).sort(), on: n.uB.id },
      // The directory a made (the file it made stays a node).
      'directories changed: 1 file': { members: [n.plugins.id], on: n.uA.id },
      'system and runtime files: 1 file': { members: [n.cert.id], on: n.uB.id },
    });
    // The units' links to that process are in folded, to open the group with.
    expect(view.folded.edges.filter((e) => e.to === n.P.id && e.type === 'WAS_INFORMED_BY').map((e) => e.from).sort()).toEqual([n.uA.id, n.uB.id].sort());
  });

  it('leaves out only what no data path links to the alert: another namespace behind a shared loopback address, another client of a shared collector', async () => {
    const { n } = s;
    const full = await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS });
    // The full trace follows every edge that respects time, so it reaches them through L and X.
    const inFull = new Set(full.nodes.map((x) => x.id));
    for (const x of [n.uD, n.D, n.Q, n.I2, n.R, n.I3]) expect(inFull.has(x.id)).toBe(true);
    expect(view.pruned).toEqual([n.uD, n.D, n.Q, n.I2, n.R, n.I3].map((x) => x.id).sort());
  });

  it('never drops a node that a data path links to the alert: each is shown or in exactly one context group, with its edges in folded', async () => {
    const full = await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS });
    const shown = new Set(view.nodes.map((x) => x.id));
    const pruned = new Set(view.pruned);
    for (const x of full.nodes) {
      const holders = view.context.filter((m) => m.members.includes(x.id)).length;
      expect({ id: x.id, places: (shown.has(x.id) ? 1 : 0) + holders + (pruned.has(x.id) ? 1 : 0) }).toEqual({ id: x.id, places: 1 });
    }
    const foldedIds = new Set(view.folded.nodes.map((x) => x.id));
    const linked = full.edges.filter((e) => !pruned.has(e.from) && !pruned.has(e.to));
    expect(linked.filter((e) => foldedIds.has(e.from) || foldedIds.has(e.to)).map((e) => e.id).sort()).toEqual(view.folded.edges.map((e) => e.id).sort());
    expect(linked.filter((e) => !foldedIds.has(e.from) && !foldedIds.has(e.to)).map((e) => e.id).sort()).toEqual(view.edges.map((e) => e.id).sort());
  });

  it('keeps the concurrent benign invocation out of both views', async () => {
    const full = await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS });
    for (const g of [full.nodes, view.nodes, view.folded.nodes]) {
      expect(g.some((x) => x.id === s.n.C.id || x.id === s.n.uC.id || x.id === s.n.prices.id)).toBe(false);
    }
  });

  it('tells the story in plain words, in causal order, naming the invocations in order', () => {
    expect(view.steps).toEqual([
      'invocation a of f began',
      'invocation a connected to 10.0.0.5:4711',
      'invocation a wrote /tmp/payload.py (40 bytes)',
      'invocation b read the request to 127.0.0.1:5000 from 127.0.0.1:40000 (300 bytes)',
      'invocation b of f began',
      'invocation b read /tmp/payload.py (40 bytes)',
      'invocation b read /data/cards (19 bytes)',
      'invocation b sent 19 bytes to 10.0.0.5:4711',
      'alert egress (high): b sent data to 10.0.0.5:4711',
    ]);
  });

  it('is deterministic, and served by the API and the CLI', async () => {
    const again = await attackView(store, await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS }), ALL_TENANTS);
    expect(JSON.stringify(again)).toBe(JSON.stringify(view));
    const r = await fetch(`${url}/api/v1/trace?from=${s.alert.id}&direction=backward&view=attack`);
    expect(r.status).toBe(200);
    expect(JSON.stringify(await r.json())).toBe(JSON.stringify(view));
    const full = (await (await fetch(`${url}/api/v1/trace?from=${s.alert.id}&direction=backward&view=full`)).json()) as { nodes: unknown[] };
    expect(full.nodes).toHaveLength(view.nodes.length + view.folded.nodes.length + view.pruned.length);
    const dot = await fetch(`${url}/api/v1/trace?from=${s.alert.id}&view=attack&format=dot`);
    expect(dot.status).toBe(400);
    expect(((await dot.json()) as { code: string }).code).toBe('FP_ERR_BAD_OPTION');
    const cli = await faasprov(['trace', s.alert.id, '--backward', '--view', 'attack', '--store', join(dir, 's.db')]);
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toContain('  1. invocation a of f began');
    expect(cli.stdout).toContain('    + [python3 start-up: 1 endpoint, 2 files, 1 instance, 1 process]');
    expect(cli.stdout).toContain('6 with no data path to the start left out');
  });
});

/**
 * A catalog function g keeps product files on volume `cat`: w0 (outside the trace) and w1 write
 * products there, w2 writes a plugin into g's code; x, of another function f, stashes a file in the
 * same directory; r lists the directory, reads the product, the stash and the plugin, and sends them
 * to the attacker (the alert).
 */
function ownStateScenario() {
  const node = 'n1';
  const file = (path: string, version: number): GraphNode => ({ id: fileId(node, path, version, 'cat'), type: 'File', node, path, version, volume: 'cat' });
  const inv = (callId: string, start: number, fn: string): GraphNode => ({ id: invocationId(callId), type: 'Invocation', callId, start, function: fn, source: 'shim' });
  const unit = (callId: string, start: number, fn: string): GraphNode => ({ id: unitId(node, 7, 10, callId, start), type: 'Unit', node, pid: 7, processStart: 10, callId, start, function: fn });
  const n = {
    W0: inv('w0', 50, 'g'), uW0: unit('w0', 50, 'g'), W1: inv('w1', 100, 'g'), uW1: unit('w1', 100, 'g'), W2: inv('w2', 110, 'g'), uW2: unit('w2', 110, 'g'),
    X: inv('x', 130, 'f'), uX: unit('x', 130, 'f'), R: inv('r', 200, 'g'), uR: unit('r', 200, 'g'),
    dir: file('/', 0), mugOld: file('/mug.json', 60), mug: file('/mug.json', 120), plugOld: file('/plug.py', 61), plug: file('/plug.py', 115), stash: file('/zz.json', 140),
    attacker: { id: endpointId('10.0.0.5', 4711), type: 'Endpoint', address: '10.0.0.5', port: 4711 } as GraphNode,
  };
  const alert: GraphNode = { id: alertId('egress', n.uR.id, n.attacker.id), type: 'Alert', rule: 'egress', severity: 'high', time: 230, summary: 'r sent data to 10.0.0.5:4711', subject: n.uR.id, object: n.attacker.id, function: 'g' };
  const e = (type: EdgeType, from: GraphNode, to: GraphNode, t: number): GraphEdge => ({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10 });
  const edges = [
    e('PART_OF', n.uW0, n.W0, 50), e('WAS_GENERATED_BY', n.mugOld, n.uW0, 60), e('WAS_GENERATED_BY', n.plugOld, n.uW0, 61),
    e('PART_OF', n.uW1, n.W1, 100), e('WAS_GENERATED_BY', n.mug, n.uW1, 120),
    e('PART_OF', n.uW2, n.W2, 110), e('WAS_GENERATED_BY', n.plug, n.uW2, 115),
    e('PART_OF', n.uX, n.X, 130), e('WAS_GENERATED_BY', n.stash, n.uX, 140),
    e('PART_OF', n.uR, n.R, 200), e('USED', n.uR, n.dir, 205), e('USED', n.uR, n.mug, 210), e('USED', n.uR, n.stash, 211), e('USED', n.uR, n.plug, 212),
    e('WAS_GENERATED_BY', n.attacker, n.uR, 230), e('CONCERNS', alert, n.uR, 230), e('CONCERNS', alert, n.attacker, 230),
  ];
  return { n, alert, nodes: [...Object.values(n), alert], edges };
}

/** Registers the suite's hooks: the scenario in a fresh SQLite store, and the attack view from its alert. */
function useAttackView(prefix: string, s: { alert: GraphNode; nodes: GraphNode[]; edges: GraphEdge[] }): () => AttackView {
  const dir = tempDir(prefix);
  let store: SqliteGraphStore | undefined;
  let view: AttackView | undefined;
  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    await store.applyBatch({ agent: 'n1:t', seq: 0, nodes: s.nodes, edges: s.edges });
    view = await attackView(store, await trace(store, s.alert.id, { direction: 'backward', scope: ALL_TENANTS }), ALL_TENANTS);
  }, 60000);
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => view!;
}

describe("attack view: a function's own state", () => {
  const s = ownStateScenario();
  const view = useAttackView('fp-attackview-own-', s);

  it('folds the files the function writes and reads back in its normal flow, with the invocations that only wrote them; never code, never another function\'s file', () => {
    const { n, alert } = s;
    expect(view().nodes.map((x) => x.id).sort()).toEqual([alert, n.uR, n.R, n.attacker, n.stash, n.uX, n.X, n.plug, n.uW2, n.W2].map((x) => x.id).sort());
    const byLabel = Object.fromEntries(view().context.map((x) => [x.label, [...x.members].sort()]));
    expect(byLabel).toEqual({ 'g baseline: 2 files, 1 invocation, 1 unit': [n.dir, n.mug, n.uW1, n.W1].map((x) => x.id).sort() });
    expect(view().pruned).toEqual([]);
  });
});

/**
 * k, an invocation of f, reads f's mounted secret (the alert), then calls g through the gateway G
 * with it: g's invocation p (stitched to k) appends to an events file. k answers its caller (a
 * response no watched activity read) and reports a span; another alert is about p.
 */
function readForwardScenario(gateway?: 'gateway', called = true) {
  const node = 'n1';
  const inv = (callId: string, start: number, fn: string): GraphNode => ({ id: invocationId(callId), type: 'Invocation', callId, start, function: fn, source: 'shim' });
  const unit = (callId: string, pid: number, start: number, fn: string): GraphNode => ({ id: unitId(node, pid, 10, callId, start), type: 'Unit', node, pid, processStart: 10, callId, start, function: fn });
  const n = {
    K: inv('k', 100, 'f'), uK: unit('k', 7, 100, 'f'), P: inv('p', 130, 'g'), uP: unit('p', 8, 130, 'g'),
    secret: { id: fileId(node, '/var/openfaas/secrets/key', 0), type: 'File', node, path: '/var/openfaas/secrets/key', version: 0 } as GraphNode,
    events: { id: fileId(node, '/data/events.log', 140), type: 'File', node, path: '/data/events.log', version: 140 } as GraphNode,
    // A later append by q, outside the chain: the forward trace reaches the version, never q.
    events2: { id: fileId(node, '/data/events.log', 170), type: 'File', node, path: '/data/events.log', version: 170 } as GraphNode,
    Q: inv('q', 165, 'g'), uQ: unit('q', 8, 165, 'g'),
    G: { id: endpointId('10.0.0.1', 8080), type: 'Endpoint', address: '10.0.0.1', port: 8080, ...(gateway ? { role: gateway } : {}) } as GraphNode,
    answer: { id: connectionId(node, 7, 5, 99, 'toClient'), type: 'Connection', node, pid: 7, fd: 5, opened: 99, flow: 'toClient', server: '127.0.0.1:5000', client: '127.0.0.1:40000' } as GraphNode,
    span: { id: spanNodeId('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'), type: 'Span', traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', callId: 'k', function: 'f' } as GraphNode,
  };
  const alert: GraphNode = { id: alertId('secret-read', n.uK.id, n.secret.id), type: 'Alert', rule: 'secret-read', severity: 'high', time: 110, summary: 'k read the secret', subject: n.uK.id, object: n.secret.id, function: 'f' };
  const other: GraphNode = { id: alertId('late', n.uP.id), type: 'Alert', rule: 'late', severity: 'low', time: 141, summary: 'p wrote', subject: n.uP.id, function: 'g' };
  const e = (type: EdgeType, from: GraphNode, to: GraphNode, t: number, attrs?: EdgeAttrs): GraphEdge => ({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10, ...(attrs ? { attrs } : {}) });
  const edges = [
    e('PART_OF', n.uK, n.K, 100), e('USED', n.uK, n.secret, 110), e('CONCERNS', alert, n.uK, 110), e('CONCERNS', alert, n.secret, 110),
    e('USED', n.uK, n.G, 120, { initiated: true }), e('WAS_GENERATED_BY', n.G, n.uK, 121),
    ...(called ? [e('WAS_INFORMED_BY', n.P, n.K, 130)] : []), e('PART_OF', n.uP, n.P, 130), e('WAS_GENERATED_BY', n.events, n.uP, 140), e('CONCERNS', other, n.uP, 141),
    e('WAS_GENERATED_BY', n.answer, n.uK, 150), e('PART_OF', n.span, n.K, 160),
    e('PART_OF', n.uQ, n.Q, 165), e('WAS_DERIVED_FROM', n.events2, n.events, 170), e('WAS_GENERATED_BY', n.events2, n.uQ, 170),
  ];
  return { n, alert, nodes: [...Object.values(n), alert, other], edges };
}

describe('attack view: an alert about a read', () => {
  const s = readForwardScenario();
  const view = useAttackView('fp-attackview-read-', s);

  it('shows where what was read went from the alert on (the call it made, what that call wrote); its answer, spans and a later append by another fold; other alerts stay out', () => {
    const { n, alert } = s;
    expect(view().nodes.map((x) => x.id).sort()).toEqual([alert, n.uK, n.K, n.secret, n.G, n.P, n.uP, n.events].map((x) => x.id).sort());
    const byLabel = Object.fromEntries(view().context.map((x) => [x.label, [...x.members].sort()]));
    expect(byLabel).toEqual({ 'responses sent: 1 connection': [n.answer.id], 'telemetry: 1 span': [n.span.id], 'later versions by others: 1 file': [n.events2.id] });
    expect(view().context.find((c) => c.kind === 'later')?.on).toBe(n.events.id);
    for (const x of [n.Q, n.uQ]) expect(view().folded.nodes.concat(view().nodes).some((y) => y.id === x.id)).toBe(false);
    expect(view().steps).toEqual([
      'invocation k of f began',
      'invocation k read /var/openfaas/secrets/key (10 bytes)',
      'alert secret-read (high): k read the secret',
      'invocation k sent 10 bytes to 10.0.0.1:8080',
      'invocation p of g began',
      'invocation k called invocation p',
      'invocation p wrote /data/events.log (10 bytes)',
      'invocation k wrote the response from 127.0.0.1:5000 to 127.0.0.1:40000 (10 bytes)',
    ]);
  });
});

/**
 * The shape that let benign invocations into shop attacks' views (one bench run in three): each
 * template's span exporter runs on a thread of its own, so its traffic is charged to whichever unit
 * is alone open at the time (attribution rule 5, `inferred`), and its keep-alive connection to the
 * telemetry relay X was made once, charged to an earlier unit outside the trace. Here: b (catalog,
 * process P) reads X's answer to an export while it is the only unit open in P; c (authorize-cc,
 * process Q, concurrent and benign) had Q's spans sent while it was alone in Q; neither process's
 * connect to X is in the trace, so the client rule cannot tell them apart. X is marked telemetry.
 */
function telemetryScenario(role?: 'telemetry') {
  const node = 'n1';
  const proc = (pid: number, start: number): GraphNode => ({ id: processId(node, pid, start), type: 'Process', node, pid, start, exe: '/usr/bin/python3', argv: ['python3', 'index.py'] });
  const inst = (pid: number, start: number, fn: string, address: string): GraphNode => ({ id: instanceId(node, pid, start), type: 'Instance', node, rootPid: pid, start, mode: 'process-tree', function: fn, addresses: [address] });
  const inv = (callId: string, start: number, fn: string): GraphNode => ({ id: invocationId(callId), type: 'Invocation', callId, start, function: fn, source: 'shim' });
  const unit = (pid: number, pstart: number, callId: string, start: number, fn: string): GraphNode => ({ id: unitId(node, pid, pstart, callId, start), type: 'Unit', node, pid, processStart: pstart, callId, start, function: fn });
  const n = {
    P: proc(7, 10), I: inst(7, 10, 'catalog', '10.0.0.9'), Q: proc(8, 12), IQ: inst(8, 12, 'authorize-cc', '10.0.0.8'),
    u0: unit(7, 10, 'z', 30, 'catalog'), uQ0: unit(8, 12, 'y', 35, 'authorize-cc'),
    B: inv('b', 200, 'catalog'), uB: unit(7, 10, 'b', 200, 'catalog'), C: inv('c', 180, 'authorize-cc'), uC: unit(8, 12, 'c', 180, 'authorize-cc'),
    X: { id: endpointId('10.0.0.1', 4318), type: 'Endpoint', address: '10.0.0.1', port: 4318, ...(role ? { role } : {}) } as GraphNode,
    attacker: { id: endpointId('10.0.0.5', 4711), type: 'Endpoint', address: '10.0.0.5', port: 4711 } as GraphNode,
    cards: { id: fileId(node, '/data/cards', 0), type: 'File', node, path: '/data/cards', version: 0 } as GraphNode,
  };
  const alert: GraphNode = { id: alertId('egress', n.uB.id, n.attacker.id), type: 'Alert', rule: 'egress', severity: 'high', time: 230, summary: 'b sent data to 10.0.0.5:4711', subject: n.uB.id, object: n.attacker.id, function: 'catalog' };
  const e = (type: EdgeType, from: GraphNode, to: GraphNode, t: number, attrs?: EdgeAttrs): GraphEdge => ({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 100, ...(attrs ? { attrs } : {}) });
  const edges = [
    e('WAS_ASSOCIATED_WITH', n.P, n.I, 10), e('WAS_ASSOCIATED_WITH', n.Q, n.IQ, 12),
    // Each exporter's connect, charged to the unit alone open then (inferred); those units gave nothing else.
    e('PART_OF', n.u0, inv('z', 30, 'catalog'), 30), e('USED', n.u0, n.X, 40, { initiated: true, inferred: true }),
    e('PART_OF', n.uQ0, inv('y', 35, 'authorize-cc'), 35), e('USED', n.uQ0, n.X, 45, { initiated: true, inferred: true }),
    // c, benign: Q's spans sent while c was alone open in Q.
    e('PART_OF', n.uC, n.C, 180), e('WAS_INFORMED_BY', n.uC, n.Q, 180), e('WAS_GENERATED_BY', n.X, n.uC, 190, { inferred: true }),
    // b: reads the relay's answer to P's export, then the cards, and sends them to the attacker.
    e('PART_OF', n.uB, n.B, 200), e('WAS_INFORMED_BY', n.uB, n.P, 200), e('USED', n.uB, n.X, 205, { inferred: true }),
    e('USED', n.uB, n.attacker, 210, { initiated: true }), e('USED', n.uB, n.cards, 220), e('WAS_GENERATED_BY', n.attacker, n.uB, 230),
    e('CONCERNS', alert, n.uB, 230), e('CONCERNS', alert, n.attacker, 230),
  ];
  return { n, alert, nodes: [...Object.values(n), inv('z', 30, 'catalog'), inv('y', 35, 'authorize-cc'), alert], edges };
}

describe("attack view: the product's telemetry receiver", () => {
  const s = telemetryScenario('telemetry');
  const view = useAttackView('fp-attackview-otlp-', s);

  it('never links two invocations through it, whatever unit its traffic was charged to: the benign one is pruned, the chain and the receiver stay', () => {
    const { n, alert } = s;
    expect(view().nodes.map((x) => x.id).sort()).toEqual([alert, n.uB, n.B, n.attacker, n.cards].map((x) => x.id).sort());
    for (const x of [n.uC, n.C, n.Q, n.IQ]) expect(view().pruned).toContain(x.id);
    // The receiver is context (the answer b read), never dropped.
    const telemetry = view().context.find((c) => c.members.includes(n.X.id));
    expect(telemetry?.label).toBe('telemetry: 1 endpoint');
    expect(telemetry?.on).toBe(n.uB.id);
  });
});

describe('attack view: a call through the gateway', () => {
  const s = readForwardScenario('gateway');
  const view = useAttackView('fp-attackview-gw-', s);
  const unseen = readForwardScenario('gateway', false);
  const unseenView = useAttackView('fp-attackview-gw2-', unseen);

  it('shows the call as the call between the two invocations, the gateway it went through as context of it', () => {
    const { n, alert } = s;
    expect(view().nodes.map((x) => x.id).sort()).toEqual([alert, n.uK, n.K, n.secret, n.P, n.uP, n.events].map((x) => x.id).sort());
    expect(view().edges).toContainEqual(expect.objectContaining({ type: 'WAS_INFORMED_BY', from: n.P.id, to: n.K.id }));
    const calls = view().context.find((c) => c.kind === 'calls');
    expect(calls).toMatchObject({ label: 'calls through the gateway: 1 endpoint', members: [n.G.id], on: n.uK.id });
    expect(view().steps).toContain('invocation k called invocation p');
  });

  it('leaves the gateway a node where no call through it is drawn (the callee not watched)', () => {
    const { n } = unseen;
    expect(unseenView().nodes.map((x) => x.id)).toContain(n.G.id);
    expect(unseenView().context.some((c) => c.kind === 'calls')).toBe(false);
  });
});
