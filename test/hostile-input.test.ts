import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import {
  alertId, edgeId, endpointId, fileId, gapId, instanceId, invocationId, processId, unitId,
  type Batch, type GraphEdge, type GraphNode,
} from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore } from '@faasprov/store';
import { AgentTokens, ApiKeys, applyBatch } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';
import { FAASPROV, tempDir } from './helpers.js';
import { freePort, until } from './agent-harness.js';
import { execa, type ResultPromise } from 'execa';

/**
 * Hostile input, generated from a seed (FAASPROV_HOSTILE_SEED to replay another run): every route,
 * ingest included, with odd path encodings, hostile numbers, unicode, oversized and malformed
 * bodies and forged batches. Nothing may answer 5xx, nothing may crash, and the stores must be
 * byte-for-byte what they were: every generated write is one the collector must refuse.
 */
const SEED = Number(process.env.FAASPROV_HOSTILE_SEED ?? 17017);
const INJECTED = 9800;
const CYPHER = 250;
/** Reads against the Neo4j store too: its own queries meet the same hostile parameters. */
const NEO4J_READS = 800;
const OVER_HTTP = 300;

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof rng>;

const KEYS = {
  a: 'key-team-a-0123456789abcdef01',
  b: 'key-team-b-0123456789abcdef01',
  admin: 'key-admin-0123456789abcdef012',
  scopedAdmin: 'key-admin-a-0123456789abcdef01',
};
const TOKENS = { nodeA: 'token-node-a-0123456789abcdef', nodeB: 'token-node-b-0123456789abcdef' };
const READERS = new Set([KEYS.a, KEYS.b, KEYS.admin, KEYS.scopedAdmin]);
const KEY_ENTRIES = [
  { name: 'a', role: 'investigator', tenants: ['team-a'], key: KEYS.a },
  { name: 'b', role: 'investigator', tenants: ['team-b'], key: KEYS.b },
  { name: 'root', role: 'admin', tenants: '*' as const, key: KEYS.admin },
  { name: 'a-admin', role: 'admin', tenants: ['team-a'], key: KEYS.scopedAdmin },
];
const keys = () => new ApiKeys(KEY_ENTRIES, AgentTokens.parse([`node-a=${TOKENS.nodeA}`, `node-b=${TOKENS.nodeB}`]));

const e = (type: GraphEdge['type'], a: GraphNode, b: GraphNode, t: number, bytes = 1): GraphEdge =>
  ({ id: edgeId(type, a.id, b.id), type, from: a.id, to: b.id, firstTime: t, lastTime: t, count: 1, bytes });

/** What node-a's agent captured: two tenants' instances, processes, files, an invocation. */
function fixture() {
  const T0 = 1_790_000_000_000_000;
  const ia: GraphNode = { id: instanceId('node-a', 100, T0), type: 'Instance', node: 'node-a', rootPid: 100, start: T0, mode: 'process-tree', function: 'fn-a', tenant: 'team-a' };
  const ib: GraphNode = { id: instanceId('node-a', 200, T0), type: 'Instance', node: 'node-a', rootPid: 200, start: T0, mode: 'process-tree', function: 'fn-b', tenant: 'team-b' };
  const pa: GraphNode = { id: processId('node-a', 101, T0 + 1), type: 'Process', node: 'node-a', pid: 101, start: T0 + 1, exe: '/usr/bin/python3', argv: ['python3', 'a.py'], tenant: 'team-a' };
  const pb: GraphNode = { id: processId('node-a', 201, T0 + 2), type: 'Process', node: 'node-a', pid: 201, start: T0 + 2, exe: '/usr/bin/node', argv: ['node', 'b-secret.js'], tenant: 'team-b' };
  const host: GraphNode = { id: fileId('node-a', '/etc/hostname', 0), type: 'File', node: 'node-a', path: '/etc/hostname', version: 0 };
  const fa: GraphNode = { id: fileId('node-a', '/tmp/a-out', T0 + 10), type: 'File', node: 'node-a', path: '/tmp/a-out', version: T0 + 10, tenant: 'team-a' };
  const fb: GraphNode = { id: fileId('node-a', '/tmp/b-secret.txt', T0 + 20), type: 'File', node: 'node-a', path: '/tmp/b-secret.txt', version: T0 + 20, tenant: 'team-b' };
  const ep: GraphNode = { id: endpointId('10.0.0.9', 443), type: 'Endpoint', address: '10.0.0.9', port: 443 };
  const inv: GraphNode = { id: invocationId('call-1', 'team-a'), type: 'Invocation', callId: 'call-1', start: T0 + 5, end: T0 + 15, function: 'fn-a', source: 'shim', tenant: 'team-a' };
  const unit: GraphNode = { id: unitId('node-a', 101, T0 + 1, 'call-1', T0 + 5), type: 'Unit', node: 'node-a', pid: 101, processStart: T0 + 1, callId: 'call-1', start: T0 + 5, end: T0 + 15, function: 'fn-a', tenant: 'team-a' };
  const gap: GraphNode = { id: gapId('node-a:1', 'perf-buffer-overflow', T0 + 30, 0), type: 'Gap', agent: 'node-a:1', cause: 'perf-buffer-overflow', from: T0 + 30, to: T0 + 40, count: 3, seq: 0 };
  const batch: Batch = {
    agent: 'node-a:1',
    seq: 0,
    nodes: [ia, ib, pa, pb, host, fa, fb, ep, inv, unit, gap],
    edges: [
      e('WAS_ASSOCIATED_WITH', pa, ia, T0 + 1), e('WAS_ASSOCIATED_WITH', pb, ib, T0 + 2),
      e('USED', unit, host, T0 + 6), e('WAS_GENERATED_BY', fa, unit, T0 + 10), e('PART_OF', unit, inv, T0 + 5),
      e('USED', pb, fa, T0 + 12), e('WAS_GENERATED_BY', fb, pb, T0 + 20), e('USED', pb, ep, T0 + 21),
      e('WAS_ATTRIBUTED_TO', gap, ia, T0 + 30),
    ],
  };
  // The collector's rules would raise this: stored directly, as the collector does.
  const alert: GraphNode = { id: alertId('file-read', pb.id, fa.id), type: 'Alert', rule: 'file-read', severity: 'high', time: T0 + 12, summary: 'b read a-out', subject: pb.id, object: fa.id, function: 'fn-b', tenant: 'team-b' };
  const alerts: Batch = { agent: 'collector-rules', seq: 0, nodes: [alert, pb, fa], edges: [e('CONCERNS', alert, pb, T0 + 12), e('CONCERNS', alert, fa, T0 + 12)] };
  return { batch, alerts, T0, ids: [ia, ib, pa, pb, host, fa, fb, ep, inv, unit, gap, alert].map((n) => n.id), pa, pb, fa, fb };
}

/** Every row of every table, in order: the store's content, byte for byte. */
function sqliteDump(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = createHash('sha256');
    const tables = db.prepare("SELECT name, sql FROM sqlite_master ORDER BY name").all() as { name: string; sql: string | null }[];
    for (const t of tables) {
      h.update(`${t.name}\n${t.sql}\n`);
      if (!t.sql?.startsWith('CREATE TABLE')) continue;
      // A WITHOUT ROWID table is read in its key's order.
      const order = t.sql.includes('WITHOUT ROWID') ? '' : ' ORDER BY rowid';
      for (const row of db.prepare(`SELECT * FROM "${t.name}"${order}`).raw().iterate()) h.update(JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)) + '\n');
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

async function neo4jDump(store: Neo4jGraphStore): Promise<string> {
  const rows = await store.readCypher(
    'MATCH (n) OPTIONAL MATCH (n)-[r]->(m) WITH n, r, m ORDER BY elementId(n), elementId(r) RETURN labels(n) AS l, properties(n) AS p, type(r) AS t, properties(r) AS rp, m.id AS to',
  );
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

// ---------------------------------------------------------------- the generator

const HOSTILE_NUMBERS = ['Infinity', '-Infinity', '1e309', '-1e309', 'NaN', '0x10', '0b1', '0o7', '', ' ', '1e2', '5.5', '-1', '-0', '+1',
  '9'.repeat(30), '9007199254740993', '１２', '١', '1_000', '1,2', '%00', 'null', 'true', '[]', 'undefined', `${'0'.repeat(100)}1`, '1 ', '\t1'];
const HOSTILE_TEXT = ['☃', '\u202eevil', '\u0000', 'Ω'.repeat(300), "' OR 1=1 --", 'MATCH (n) DETACH DELETE n', '../../etc/passwd', '<script>alert(1)</script>',
  'a'.repeat(5000), '%', '%zz', '\ud83d\ude00', 'team-b', 'b-secret', '*', '%2e%2e%2f', '${7*7}', '{{7*7}}', '\r\nX-Injected: 1', 'constructor', '__proto__'];

function numberValue(r: Rng, valid: () => string): string {
  return r.chance(0.4) ? valid() : r.pick(HOSTILE_NUMBERS);
}
function textValue(r: Rng, valid: readonly string[]): string {
  return r.chance(0.4) ? r.pick(valid) : r.pick(HOSTILE_TEXT);
}
/** Encodes a query value, sometimes raw (the server sees it undecoded), never throwing on lone surrogates. */
function enc(r: Rng, v: string): string {
  if (r.chance(0.1)) return v.replace(/[\s#&]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  try {
    return encodeURIComponent(v);
  } catch {
    return '%ED%A0%80';
  }
}

interface Req {
  kind: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Ingest and Cypher bodies: a write the server must refuse. */
  mustRefuse?: boolean;
}

function idValue(r: Rng, ids: string[]): string {
  return r.pick([
    () => r.pick(ids), () => r.pick(ids), () => `p_${'0'.repeat(32)}`, () => `p_${createHash('md5').update(String(r.next())).digest('hex')}`,
    () => r.pick(ids).toUpperCase(), () => `${r.pick(ids)}x`, () => r.pick(HOSTILE_TEXT), () => r.pick(ids).slice(0, 10), () => `${r.pick(ids)}%00`,
  ])();
}

function readRoute(r: Rng, ids: string[]): { kind: string; path: string; query: [string, string][] } {
  const time = () => numberValue(r, () => String(r.pick([0, 1_790_000_000_000_010, 1_790_000_000_000_020, 2 ** 53 - 1])));
  const small = () => numberValue(r, () => String(r.int(600)));
  const q: [string, string][] = [];
  const maybe = (name: string, v: () => string, p = 0.5) => {
    if (r.chance(p)) q.push([name, v()]);
  };
  const route = r.pick(['nodes', 'node', 'trace', 'trace', 'paths', 'timeline', 'alerts', 'invocation', 'instances', 'locality', 'stats'] as const);
  let path = '';
  switch (route) {
    case 'nodes':
      path = '/api/v1/nodes';
      maybe('type', () => textValue(r, ['Process', 'File', 'Alert', 'Gap', 'Instance', 'process']));
      maybe('q', () => textValue(r, ['tmp', 'secret', 'python', 'team-b', 'hostname']));
      maybe('function', () => textValue(r, ['fn-a', 'fn-b']));
      for (const n of ['since', 'until']) maybe(n, time, 0.3);
      maybe('limit', small);
      maybe('offset', small);
      break;
    case 'node':
      path = `/api/v1/nodes/${enc(r, idValue(r, ids))}`;
      break;
    case 'trace':
      path = '/api/v1/trace';
      maybe('from', () => idValue(r, ids), 0.95);
      maybe('direction', () => textValue(r, ['backward', 'forward', 'sideways']));
      maybe('depth', small, 0.3);
      for (const n of ['since', 'until']) maybe(n, time, 0.2);
      // PNG runs Graphviz: rarely.
      maybe('format', () => (r.chance(0.02) ? 'png' : textValue(r, ['json', 'prov-json', 'dot', 'graphml', 'svg'])), 0.6);
      break;
    case 'paths':
      path = '/api/v1/paths';
      maybe('from', () => idValue(r, ids), 0.9);
      maybe('to', () => idValue(r, ids), 0.9);
      maybe('maxDepth', small, 0.4);
      break;
    case 'timeline':
      path = '/api/v1/timeline';
      maybe('function', () => textValue(r, ['fn-a', 'fn-b']), 0.9);
      for (const n of ['since', 'until', 'limit']) maybe(n, n === 'limit' ? small : time, 0.3);
      break;
    case 'alerts':
      path = '/api/v1/alerts';
      maybe('severity', () => textValue(r, ['low', 'high', 'critical', 'HIGH']));
      maybe('function', () => textValue(r, ['fn-a', 'fn-b']), 0.3);
      for (const n of ['since', 'until', 'limit', 'offset']) maybe(n, n === 'limit' || n === 'offset' ? small : time, 0.3);
      break;
    case 'invocation':
      path = `/api/v1/invocations/${enc(r, textValue(r, ['call-1', 'call-2', 'x'.repeat(129)]))}`;
      break;
    case 'instances':
      path = '/api/v1/instances';
      maybe('function', () => textValue(r, ['fn-a', 'fn-b']));
      maybe('limit', small);
      break;
    case 'locality':
      path = '/api/v1/locality/remote-reads';
      for (const n of ['since', 'until', 'limit']) maybe(n, n === 'limit' ? small : time, 0.4);
      break;
    case 'stats':
      path = '/api/v1/stats';
      break;
  }
  // Repeated, unknown and prototype-shaped parameters.
  if (r.chance(0.08) && q.length > 0) q.push(r.pick(q));
  if (r.chance(0.05)) q.push([r.pick(['__proto__', 'constructor[prototype][x]', 'unknown', 'limit[]', '']), r.pick(HOSTILE_TEXT)]);
  return { kind: route, path, query: q };
}

/** A path spelled oddly: percent-encoded letters, case, doubled or dotted segments, junk. */
function oddPath(r: Rng, path: string): string {
  const t = r.pick([
    (p: string) => p.replace(/[a-z]/g, (c) => (r.chance(0.3) ? `%${c.charCodeAt(0).toString(16)}` : c)),
    (p: string) => p.replace(/[a-z]/g, (c) => (r.chance(0.3) ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)),
    (p: string) => p.replace(/\//g, (s) => (r.chance(0.3) ? '//' : s)),
    (p: string) => p.replace(/\//g, (s) => (r.chance(0.2) ? '%2F' : s)),
    (p: string) => p.toUpperCase(),
    (p: string) => `${p}/`,
    (p: string) => `${p}.`,
    (p: string) => `${p}%00`,
    (p: string) => `${p};x=1`,
    (p: string) => p.replace('/api/', '/api/./'),
    (p: string) => p.replace('/api/', '/x/../api/'),
    (p: string) => p.replace('/api/', '/%2e%2e/api/'),
    (p: string) => p.replace('/api/', '/api%2F'),
    (p: string) => p.replace('/v1/', '/v1%C0%AF'),
    (p: string) => p.replace('/api/', '/ápi/'),
    (p: string) => p.replace('/api/', '/%zzapi/'),
    (p: string) => `${p}%`,
    (p: string) => p.replace('/api', '/api\u0000'),
  ]);
  return t(path);
}

function authHeader(r: Rng): Record<string, string> {
  const v = r.pick([
    undefined, undefined, `Bearer ${KEYS.a}`, `Bearer ${KEYS.a}`, `Bearer ${KEYS.b}`, `Bearer ${KEYS.b}`, `Bearer ${KEYS.admin}`, `Bearer ${KEYS.scopedAdmin}`,
    `Bearer ${TOKENS.nodeA}`, 'Bearer ', 'Bearer', `bearer ${KEYS.a}`, `Bearer  ${KEYS.a}`, `Bearer ${KEYS.a} `, `Basic ${Buffer.from(`x:${KEYS.admin}`).toString('base64')}`,
    `Bearer ${KEYS.admin.slice(0, -1)}`, `Bearer ${'A'.repeat(4000)}`, `Bearer ${KEYS.admin}\u00e9`, 'Bearer null', `Bearer ${KEYS.a},Bearer ${KEYS.admin}`,
  ]);
  return v === undefined ? {} : { authorization: v };
}

/** A valid batch of one agent's node, then spoilt by exactly one hostile change. */
function spoiltBatch(r: Rng, f: ReturnType<typeof fixture>): { body: string; token: string; what: string } {
  const T = f.T0 + 1000 + r.int(1_000_000);
  const node = 'node-a';
  const proc: GraphNode = { id: processId(node, 300, T), type: 'Process', node, pid: 300, start: T, exe: '/bin/sh', argv: ['sh'], tenant: 'team-a' };
  const file: GraphNode = { id: fileId(node, `/tmp/h-${T}`, T + 1), type: 'File', node, path: `/tmp/h-${T}`, version: T + 1, tenant: 'team-a' };
  const ep: GraphNode = { id: endpointId('10.1.2.3', 80), type: 'Endpoint', address: '10.1.2.3', port: 80 };
  const b = { agent: 'node-a:1', seq: 1 + r.int(1_000_000), nodes: [proc, file, ep] as Record<string, unknown>[], edges: [e('WAS_GENERATED_BY', file, proc, T + 1), e('USED', proc, ep, T + 2)] as unknown as Record<string, unknown>[] };
  let token = TOKENS.nodeA;
  const hostileNum = () => r.pick<unknown>([1e20, -1, 1.5, '1', null, true, [], {}, 2 ** 53, -(2 ** 53), 'NaN']);
  const hostileStr = () => r.pick<unknown>([5, null, [], {}, 'x'.repeat(5000), '']);
  const mutations: [string, () => void][] = [
    ['node number', () => { const n = r.pick(b.nodes); n[r.pick(n.type === 'Process' ? ['pid', 'start', 'end', 'uid', 'exitCode'] : n.type === 'File' ? ['version', 'deleted'] : ['port'])] = hostileNum(); }],
    ['edge number', () => { const x = r.pick(b.edges); x[r.pick(['firstTime', 'lastTime', 'count', 'bytes'])] = hostileNum(); }],
    ['node key', () => { const n = r.pick(b.nodes); if (n.type === 'Endpoint') n.address = r.pick(HOSTILE_TEXT); else if (n.type === 'File') n.path = `${n.path}${r.pick(HOSTILE_TEXT)}`; else n.node = r.pick(['node-b', 'node-a ', 'NODE-A']); }],
    ['node string type', () => { const n = r.pick(b.nodes); n[r.pick(Object.keys(n).filter((k) => typeof n[k] === 'string' && k !== 'type'))] = hostileStr(); }],
    ['extra property', () => { r.pick(b.nodes)[r.pick(['evil', 'Tenant', 'role', 'constructor'])] = r.pick(HOSTILE_TEXT); }],
    ['missing property', () => { const n = r.pick(b.nodes); delete n[r.pick(['id', 'type', n.type === 'Endpoint' ? 'port' : 'node'])]; }],
    ['bad tenant', () => { r.pick(b.nodes.filter((n) => n.type !== 'Endpoint')).tenant = r.pick(['Team_A', '../team-b', 'team-b\u0000', 'ä', '', '-x', 'a'.repeat(64), 5]); }],
    ['bad id', () => { const n = r.pick(b.nodes); n.id = r.pick([`p_${'0'.repeat(32)}`, (n.id as string).replace(/.$/, 'x'), `${n.id as string}0`, 'p_', 5]); }],
    ['unknown type', () => { r.pick(b.nodes).type = r.pick(['Evil', 'process', '', 'Batch', 5]); }],
    ['dangling edge', () => { r.pick(b.edges).to = f.pa.id; }],
    ['time order', () => { const x = r.pick(b.edges); x.lastTime = (x.firstTime as number) - 1; }],
    ['prov direction', () => { const x = r.pick(b.edges); [x.from, x.to] = [x.to, x.from]; x.id = edgeId(x.type as GraphEdge['type'], x.from as string, x.to as string); }],
    ['edge type', () => { r.pick(b.edges).type = r.pick(['OWNS', 'used', '', 'DELETE']); }],
    ['edge id', () => { r.pick(b.edges).id = `e_${'f'.repeat(32)}`; }],
    ['edge attrs', () => { r.pick(b.edges).attrs = r.pick<unknown>([{ evil: true }, { rc: 1e20 }, { copyKind: 9 }, 'x', []]); }],
    ['envelope', () => { const k = r.pick(['seq', 'agent', 'prev', 'hash', 'sentAt', 'nodes', 'edges', 'extra']); (b as Record<string, unknown>)[k] = k === 'agent' ? r.pick(['', 'node-a:1/../b', 'a'.repeat(200), 'node a', 5]) : k === 'nodes' || k === 'edges' ? r.pick<unknown>(['x', {}, null, 5]) : k === 'prev' || k === 'hash' ? r.pick(['x', '0'.repeat(63), 'G'.repeat(64), 5]) : hostileNum(); }],
    ['wrong agent for token', () => { token = TOKENS.nodeB; }],
    ['too many nodes', () => { b.nodes = Array.from({ length: 20001 }, () => ({ type: 'File' })); }],
    // Forged, well-formed: what the sending agent may not write (the collector binds a batch to its agent).
    ['forged: another node', () => { token = TOKENS.nodeB; b.agent = 'node-b:1'; b.nodes[0] = { ...f.pa, tenant: 'team-b', argv: ['forged'] }; b.nodes[1] = { ...f.fa }; b.edges = [e('WAS_GENERATED_BY', f.fa, f.pa, f.T0 + 500)] as unknown as Record<string, unknown>[]; b.nodes.pop(); }],
    ['forged: an alert', () => { const al: GraphNode = { id: alertId('shell-spawned', proc.id), type: 'Alert', rule: 'shell-spawned', severity: 'critical', time: T, summary: 'forged', subject: proc.id, tenant: 'team-a' }; b.nodes.push(al as unknown as Record<string, unknown>); b.edges.push(e('CONCERNS', al, proc, T) as unknown as Record<string, unknown>); }],
    ['forged: another agent\'s gap', () => { const g: GraphNode = { id: gapId('node-b:1', 'agent-down', T, 0), type: 'Gap', agent: 'node-b:1', cause: 'agent-down', from: T, to: T + 5, count: 0, seq: 0 }; b.nodes.push(g as unknown as Record<string, unknown>); }],
  ];
  const [what, mutate] = r.pick(mutations);
  mutate();
  let body = JSON.stringify(b);
  // Numbers JSON cannot carry as such, written as text.
  if (what === 'node number' && r.chance(0.3)) body = body.replace(/"pid":\d+/, r.pick(['"pid":1e309', '"pid":-1e309', '"pid":0x10', '"pid":NaN', '"pid":01']));
  return { body, token, what };
}

function ingestRequest(r: Rng, f: ReturnType<typeof fixture>): Req {
  const kind = r.pick(['spoilt', 'spoilt', 'spoilt', 'spoilt', 'malformed', 'content-type', 'auth', 'oversized', 'nested', 'proto'] as const);
  const base = { method: 'POST', url: r.chance(0.1) ? oddPath(r, '/v1/batches') : '/v1/batches', mustRefuse: true };
  const json = { 'content-type': 'application/json' };
  if (kind === 'spoilt') {
    const s = spoiltBatch(r, f);
    return { ...base, kind: `ingest:${s.what}`, headers: { ...json, authorization: `Bearer ${s.token}` }, body: s.body };
  }
  const good = spoiltBatch(r, f).body;
  const auth = { authorization: `Bearer ${TOKENS.nodeA}` };
  switch (kind) {
    case 'malformed':
      return { ...base, kind: 'ingest:malformed', headers: { ...json, ...auth }, body: r.pick([good.slice(0, r.int(good.length)), '{', '', 'null', '[]', '"x"', '\ufeff{}', good.replace(/"/g, "'"), `${good}garbage`, Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1'), '{"agent":"node-a:1","seq":1,"nodes":[],"edges":[],}']) };
    case 'content-type':
      // node-b's token on node-a's batch: refused whatever the body, if any parser lets it through.
      return { ...base, kind: 'ingest:content-type', headers: { authorization: `Bearer ${TOKENS.nodeB}`, 'content-type': r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', 'application/jsonx']) }, body: good };
    case 'auth': {
      const h = authHeader(r);
      // A reader key, a wrong key, no key: the batch is not theirs to send (node-a's token and the admin key, which may ingest, stay out).
      const refused = h.authorization?.includes(TOKENS.nodeA) || h.authorization === `Bearer ${KEYS.admin}` ? {} : h;
      return { ...base, kind: 'ingest:auth', headers: { ...json, ...refused }, body: JSON.stringify({ agent: 'node-a:1', seq: 1 + r.int(1000), nodes: [], edges: [] }) };
    }
    case 'oversized':
      return { ...base, kind: 'ingest:oversized', headers: { ...json, ...auth }, body: `{"agent":"node-a:1","seq":1,"pad":"${'x'.repeat(2 * 1024 * 1024 + r.int(1000))}","nodes":[],"edges":[]}` };
    case 'nested': {
      const depth = r.pick([100, 1000, 10000, 100000]);
      return { ...base, kind: 'ingest:nested', headers: { ...json, ...auth }, body: `{"agent":"node-a:1","seq":1,"nodes":${'['.repeat(depth)}${']'.repeat(depth)},"edges":[]}` };
    }
    case 'proto':
      return { ...base, kind: 'ingest:proto', headers: { ...json, ...auth }, body: r.pick([good.replace('{', '{"__proto__":{"admin":true},'), good.replace('{', '{"constructor":{"prototype":{"x":1}},')]) };
  }
}

function readRequest(r: Rng, ids: string[], odd: boolean): Req {
  const { kind, path, query } = readRoute(r, ids);
  const qs = query.map(([k, v]) => `${enc(r, k)}=${enc(r, v)}`).join('&');
  const url = `${odd ? oddPath(r, path) : path}${qs ? `?${qs}` : ''}`;
  return { kind: `${odd ? 'odd:' : ''}${kind}`, method: r.chance(0.03) ? 'HEAD' : 'GET', url, headers: authHeader(r) };
}

function otherRequest(r: Rng): Req {
  const url = r.pick(['/healthz', '/docs/json', '/docs', '/docs/static/index.html', '/v1/collector/metrics', '/', '/index.html', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', `/${'a'.repeat(3000)}`, '/api', '/api/', '/api/v2/nodes', '/v1/batches', '/api/v1/cypher', '/api/v1/nodes']);
  const method = r.pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
  const body = method === 'GET' || method === 'HEAD' ? undefined : r.pick(['{}', '', 'x', '{"query":"MATCH (n) DETACH DELETE n"}']);
  // Cypher goes to the Neo4j server; here a write verb on a read route must change nothing.
  const safeUrl = url === '/api/v1/cypher' ? '/api/v1/nodes' : url;
  return { kind: `other:${method}`, method, url: safeUrl, headers: { ...authHeader(r), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body, mustRefuse: method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' };
}

const CYPHER_QUERIES = [
  "LOAD CSV FROM 'file:///etc/shadow' AS l RETURN l", "LOAD CSV FROM 'http://127.0.0.1:1/x' AS l RETURN l", 'LOAD CSV FROM $u AS l RETURN l',
  'SHOW USERS', 'SHOW SETTINGS', 'SHOW TRANSACTIONS', "TERMINATE TRANSACTIONS 'neo4j-transaction-1'", 'CALL dbms.listConfig()', 'CALL dbms.security.listUsers()',
  'CALL dbms.killQuery("x")', 'MATCH (n) DETACH DELETE n', 'CREATE (n:Node {id: "x"})', 'MATCH (n:Node) SET n.tenant = "team-b"', 'MERGE (n:Evil) RETURN n',
  'MATCH (n:Node) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS', 'CREATE INDEX evil FOR (n:Node) ON (n.path)', 'DROP CONSTRAINT x IF EXISTS',
  'CREATE DATABASE evil', 'STOP DATABASE neo4j', 'USE system SHOW USERS', 'FOREACH (x IN [1] | CREATE (:Evil))', 'CALL db.createLabel("Evil")',
  'MATCH (n:Node) REMOVE n.tenant', 'ALTER USER neo4j SET PASSWORD "x"', 'GRANT ROLE admin TO neo4j', 'CALL apoc.load.json("file:///etc/passwd")',
  'MATCH (n:Node) RETURN n LIMIT 5', 'CALL db.labels()', 'RETURN 1', 'MATCH (n:Node) RETURN count(n)',
];

function cypherRequest(r: Rng): Req {
  const q = r.chance(0.7) ? r.pick(CYPHER_QUERIES) : `${r.pick(CYPHER_QUERIES)} ${r.pick(['UNION ALL ', '// ', ';', '\n', ' WITH 1 AS x '])}${r.pick(CYPHER_QUERIES)}`;
  const body = r.pick<unknown>([
    { query: q }, { query: q }, { query: q, params: { u: 'file:///etc/passwd' } }, { query: q, params: { __proto__: { x: 1 } } }, { query: 5 }, { query: '' },
    { query: 'x'.repeat(9000) }, { query: q, extra: 1 }, [], 'x', { query: `${'RETURN 1 UNION ALL '.repeat(400)}RETURN 1` },
  ]);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { kind: 'cypher', method: 'POST', url: r.chance(0.1) ? oddPath(r, '/api/v1/cypher') : '/api/v1/cypher', headers: { 'content-type': 'application/json', ...authHeader(r) }, body: r.chance(0.03) ? `{"query":"${'x'.repeat(17000)}"}` : text, mustRefuse: false };
}

/** Does a request's outcome hold? Returns what went wrong, or undefined. */
function violation(req: Req, status: number, body: string): string | undefined {
  if (status >= 500) return `${status} ${body.slice(0, 200)}`;
  if (/SQLITE_|Neo\.|at \w+ \(|node_modules/.test(body)) return `internals in the body: ${body.slice(0, 200)}`;
  if (req.mustRefuse && status < 400) return `accepted a write that must be refused (${status}) ${body.slice(0, 200)}`;
  const api = /^\/(api|%61|%41)/i.test(req.url) || req.url.includes('api');
  if (api && status >= 200 && status < 300 && !/^\/(healthz|docs)/.test(req.url)) {
    const key = req.headers.authorization?.match(/^Bearer (.*)$/)?.[1];
    if (!key || !READERS.has(key)) return `answered ${status} without a reader key`;
  }
  return undefined;
}

function tally(counts: Map<string, number>, k: string) {
  counts.set(k, (counts.get(k) ?? 0) + 1);
}

// ---------------------------------------------------------------- the suite

describe(`hostile input (seed ${SEED})`, () => {
  const dir = tempDir('fp-hostile-');
  const f = fixture();
  let sqlite: SqliteGraphStore;
  let neo: Neo4jGraphStore;
  let app: FastifyInstance;
  let neoApp: FastifyInstance;
  const statuses = new Map<string, number>();
  const kinds = new Map<string, number>();
  let total = 0;
  const failures: string[] = [];

  beforeAll(async () => {
    sqlite = new SqliteGraphStore(join(dir, 's.db'));
    await applyBatch(sqlite, f.batch);
    await sqlite.applyBatch(f.alerts);
    neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await neo.clear();
    await applyBatch(neo, f.batch);
    await neo.applyBatch(f.alerts);
    // Rate limits are tested elsewhere; here every request must reach its route.
    app = await buildServer({ store: sqlite, keys: keys(), uiDir: false, rateLimitPerMinute: 1e9, bodyLimit: 2 * 1024 * 1024 });
    neoApp = await buildServer({ store: neo, keys: keys(), uiDir: false, rateLimitPerMinute: 1e9, collector: false, cypher: { timeoutMs: 3000 } });
  }, 120000);
  afterAll(async () => {
    await app?.close();
    await neoApp?.close();
    await sqlite?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(target: FastifyInstance, req: Req) {
    total++;
    tally(kinds, req.kind.split(':').slice(0, 2).join(':'));
    let status: number;
    let body: string;
    try {
      const res = await target.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.body !== undefined ? { payload: req.body } : {}) });
      status = res.statusCode;
      body = res.body;
    } catch (err) {
      // inject refuses some inputs itself (an invalid header): nothing reached the server.
      tally(statuses, 'refused by the client');
      return;
    }
    tally(statuses, String(status));
    const v = violation(req, status, body);
    if (v && failures.length < 20) failures.push(`${req.kind} ${req.method} ${req.url.slice(0, 160)} [${Object.values(req.headers).join(' ').slice(0, 60)}] ${String(req.body ?? '').slice(0, 200)}: ${v}`);
  }

  it('answers 10,000 generated requests with no 5xx, no crash and no change to the store', async () => {
    const before = { sqlite: sqliteDump(join(dir, 's.db')), neo: await neo4jDump(neo) };
    const r = rng(SEED);
    const ids = [...f.ids, f.pa.id, f.pb.id];
    for (let i = 0; i < INJECTED; i++) {
      const x = r.next();
      const req = x < 0.5 ? readRequest(r, ids, false) : x < 0.68 ? readRequest(r, ids, true) : x < 0.95 ? ingestRequest(r, f) : otherRequest(r);
      await send(app, req);
    }
    for (let i = 0; i < CYPHER; i++) await send(neoApp, cypherRequest(r));
    for (let i = 0; i < NEO4J_READS; i++) await send(neoApp, readRequest(r, ids, r.chance(0.3)));
    // Still serving, and nothing stored.
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const counts = { requests: total, statuses: Object.fromEntries([...statuses].sort()), kinds: Object.fromEntries([...kinds].sort()) };
    process.stdout.write(`hostile input (seed ${SEED}, in-process): ${JSON.stringify(counts)}\n`);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(INJECTED + CYPHER + NEO4J_READS);
    // Every route was probed, ingest most of all.
    for (const k of ['nodes', 'node', 'trace', 'paths', 'timeline', 'alerts', 'invocation', 'instances', 'locality', 'stats', 'cypher']) expect(kinds.get(k) ?? 0).toBeGreaterThan(50);
    expect([...kinds].filter(([k]) => k.startsWith('ingest:')).reduce((a, [, n]) => a + n, 0)).toBeGreaterThan(2000);
    expect({ sqlite: sqliteDump(join(dir, 's.db')), neo: await neo4jDump(neo) }).toEqual(before);
  }, 240000);

  describe('over real HTTP, against faasprov up', () => {
    let up: ResultPromise;
    let exited = false;
    let base: string;
    const store = join(dir, 'up.db');

    beforeAll(async () => {
      const s = new SqliteGraphStore(store);
      await applyBatch(s, f.batch);
      await s.close();
      const keyFile = join(dir, 'keys.json');
      writeFileSync(keyFile, JSON.stringify(KEY_ENTRIES));
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      up = execa(FAASPROV, ['up', '--store', store, '--port', String(port), '--api-keys', keyFile, '--agent-token', `node-a=${TOKENS.nodeA}`, '--agent-token', `node-b=${TOKENS.nodeB}`, '--rate-limit', '1000000'], { reject: false });
      void up.then(() => (exited = true));
      await until('faasprov up', () => fetch(`${base}/healthz`).then((x) => x.ok, () => false), 30000);
    }, 60000);
    afterAll(async () => {
      up?.kill('SIGTERM');
      await up;
    });

    const raw = (req: Req): Promise<{ status: number; body: string }> => {
      const u = new URL(base);
      return new Promise((resolve) => {
        const c = request({ host: u.hostname, port: u.port, path: req.url, method: req.method, headers: req.headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        c.on('error', (err) => resolve({ status: 0, body: String(err) }));
        if (req.body !== undefined) c.write(req.body);
        c.end();
      });
    };

    it('answers odd URL spellings, broken HTTP and hostile bodies without 5xx, leaks or a crash', async () => {
      const before = sqliteDump(store);
      const r = rng(SEED + 1);
      const ids = [...f.ids, f.pa.id, f.pb.id];
      const seen = new Map<string, number>();
      const bad: string[] = [];
      for (let i = 0; i < OVER_HTTP; i++) {
        const req = i % 3 === 2 ? ingestRequest(r, f) : readRequest(r, ids, true);
        let res: { status: number; body: string };
        try {
          res = await raw(req);
        } catch {
          tally(seen, 'refused by the client');
          continue;
        }
        tally(seen, String(res.status));
        // 0: the server closed a request it could not parse (no answer, no crash).
        const v = res.status === 0 ? undefined : violation(req, res.status, res.body);
        if (v && bad.length < 20) bad.push(`${req.kind} ${req.method} ${req.url.slice(0, 160)}: ${v}`);
      }
      // Requests HTTP itself forbids, written on a socket.
      const lines = [
        'GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u0000\r\n\r\n', 'GET /%61pi/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /api/v1/nodes HTTP/9.9\r\n\r\n',
        'GET  /api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n', 'GET http://evil/api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /api/v1/nodes\r\n\r\n',
        'POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', `GET /api/v1/nodes?${'q='.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"agent"', '\u0000\u0001\u0002\r\n\r\n',
      ];
      for (const line of lines) {
        const reply = await new Promise<string>((resolve) => {
          const u = new URL(base);
          const s = connect(Number(u.port), u.hostname, () => s.end(line));
          let out = '';
          s.setTimeout(3000, () => s.destroy());
          s.on('data', (d) => (out += d.toString('latin1')));
          s.on('close', () => resolve(out));
          s.on('error', () => resolve(out));
        });
        const status = Number(reply.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
        tally(seen, `raw:${status}`);
        if (status >= 500 || /^HTTP\/1\.1 2/.test(reply)) bad.push(`raw ${JSON.stringify(line.slice(0, 60))}: ${reply.slice(0, 100)}`);
      }
      process.stdout.write(`hostile input (seed ${SEED + 1}, real HTTP): ${JSON.stringify({ requests: OVER_HTTP + lines.length, statuses: Object.fromEntries([...seen].sort()) })}\n`);
      expect(bad).toEqual([]);
      expect(exited).toBe(false);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(sqliteDump(store)).toBe(before);
    }, 120000);
  });
});
