import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  alertId, edgeId, endpointId, fileId, gapId, invocationId, processId,
  type Batch, type EdgeType, type GraphEdge, type GraphNode,
} from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { AgentTokens, ApiKeys } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const TOKENS = { node1: 'node1-token-0123456789abcdef', node2: 'node2-token-0123456789abcdef' };
const ADMIN = 'admin-key-0123456789abcdef0123';
const T = 1_790_000_000_000_000;

const proc = (node: string, pid: number, extra: Partial<GraphNode> = {}): GraphNode =>
  ({ id: processId(node, pid, T), type: 'Process', node, pid, start: T, exe: '/usr/bin/python3', argv: ['python3', 'handler.py'], ...extra }) as GraphNode;
const localFile = (node: string, path: string): GraphNode => ({ id: fileId(node, path, T + 5), type: 'File', node, path, version: T + 5 });
const volumeFile = (path: string): GraphNode => ({ id: fileId('storage', path, 0, 'shared-vol'), type: 'File', node: 'storage', path, version: 0, volume: 'shared-vol', tier: 'durable' });
const remote: GraphNode = { id: endpointId('10.0.0.9', 443), type: 'Endpoint', address: '10.0.0.9', port: 443 };
const invocation: GraphNode = { id: invocationId('call-1'), type: 'Invocation', callId: 'call-1', start: T, source: 'shim' };

function batch(agent: string, seq: number, edges: [EdgeType, GraphNode, GraphNode][], extra: GraphNode[] = []): Batch {
  const nodes = new Map<string, GraphNode>(extra.map((n) => [n.id, n]));
  const es: GraphEdge[] = edges.map(([type, from, to]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: T + 10, lastTime: T + 10, count: 1, bytes: 1 };
  });
  return { agent, seq, nodes: [...nodes.values()], edges: es };
}

// A real HTTP ingest route with per-agent tokens over a real SQLite store: an agent writes only its own node's facts.
describe('forged batches: an agent cannot write another node\'s facts, alerts or gaps', () => {
  const dir = tempDir('fp-forged-');
  let store: SqliteGraphStore;
  let app: FastifyInstance;
  let url: string;
  const p1 = proc('node1', 100, { tenant: 'team-a' });
  const out1 = { ...localFile('node1', '/srv/out'), tenant: 'team-a' } as GraphNode;
  const p2 = proc('node2', 200);

  const post = (token: string, body: unknown) =>
    fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const snapshot = async () => JSON.stringify([await store.all(), await store.stats()]);
  const forgedCount = async () =>
    ((await (await fetch(`${url}/v1/collector/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { batches: { forged: number } }).batches.forged;

  beforeAll(async () => {
    store = new SqliteGraphStore(join(dir, 's.db'));
    const keys = new ApiKeys([{ name: 'root', role: 'admin', tenants: '*', key: ADMIN }], AgentTokens.parse([`node1=${TOKENS.node1}`, `node2=${TOKENS.node2}`]));
    app = await buildServer({ store, keys });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    const r = await post(TOKENS.node1, batch('node1:a', 0, [['WAS_GENERATED_BY', out1, p1]]));
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const node1Gap: GraphNode = { id: gapId('node1:a', 'agent-down', T, 1), type: 'Gap', agent: 'node1:a', cause: 'agent-down', from: T, to: T + 1, count: 0, seq: 1 };
  const alert: GraphNode = { id: alertId('shell-in-function', p2.id), type: 'Alert', rule: 'shell-in-function', severity: 'critical', time: T, summary: 'forged', subject: p2.id };
  const cases: [string, string, Batch][] = [
    ["node1's Process with its tenant and argv changed", 'nodes/0', batch('node2:x', 0, [['WAS_GENERATED_BY', localFile('node2', '/tmp/y'), p2]], [proc('node1', 100, { tenant: 'team-b', argv: ['evil'] })])],
    ["node1's local file", 'nodes/', batch('node2:x', 0, [['USED', p2, { ...out1, tenant: 'team-b' } as GraphNode]])],
    ['an Alert', 'nodes/0', batch('node2:x', 0, [['CONCERNS', alert, p2]])],
    ['a Gap attributed to another agent', 'nodes/0', batch('node2:x', 0, [], [node1Gap])],
    ['an edge between two shared nodes', 'edges/0', batch('node2:x', 0, [['USED', invocation, remote]], [p2])],
    ["node2's Process under node1's agent id (with node1's token)", 'nodes/0', batch('node1:a', 1, [['USED', p2, remote]])],
  ];

  it.each(cases)('refuses %s with 422, stores nothing and counts it', async (_what, where, b) => {
    const before = await snapshot();
    const forged = await forgedCount();
    const token = b.agent.startsWith('node1') ? TOKENS.node1 : TOKENS.node2;
    const r = await post(token, b);
    expect(r.status).toBe(422);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe('FP_ERR_BATCH_FORGED');
    expect(body.message).toContain(where);
    expect(await snapshot()).toBe(before);
    expect(await forgedCount()).toBe(forged + 1);
  });

  it('still admits what an agent meets but does not own: volume files, remote endpoints, invocations', async () => {
    const b = batch('node2:x', 0, [['USED', p2, volumeFile('/data/in')], ['USED', p2, remote], ['WAS_INFORMED_BY', invocation, p2]]);
    const r = await post(TOKENS.node2, b);
    expect(r.status).toBe(200);
    // node1's process kept its tenant and argv.
    expect((await store.getNodes([p1.id]))[0]).toMatchObject({ tenant: 'team-a', argv: ['python3', 'handler.py'] });
  });
});
