import { describe, expect, it, beforeEach, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { BATCH_STREAM, batchMessageId, batchSubject, type Batch } from '@faasprov/model';
import { DiskSpool, NatsBatchSender, SpoolShipper } from '@faasprov/agent';
import { Neo4jGraphStore, openGraphStore } from '@faasprov/store';
import { FAASPROV, ROOT, tempDir } from './helpers.js';
import { until } from './agent-harness.js';
import { expectedCounts, recordedWorkload } from './workload.js';

const NATS = () => process.env.FAASPROV_TEST_NATS!;
const NEO4J = () => process.env.FAASPROV_TEST_NEO4J!;
/** The ports of the services this run uses (its own, when the environment names them). */
const port = (url: string) => new URL(url).port;

/** Batches from several agents replaying a real capture. */
function workload(agents: number, tag: string): Batch[] {
  return Array.from({ length: agents }, (_, i) => recordedWorkload(`node-${i}:${tag}`, `node-${i}`)).flat();
}

async function resetStream(): Promise<void> {
  const nc = await connect({ servers: NATS() });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(BATCH_STREAM.name).catch(() => undefined);
  await nc.close();
}

function collector(): ResultPromise {
  return execa(FAASPROV, ['collector', '--nats', NATS(), '--store', NEO4J()], { reject: false, all: true });
}

/** The real agent transport: a spool and its shipper publishing to JetStream, fed at a pace. */
async function publishPaced(dir: string, batches: Batch[], perSecond: number): Promise<{ done: Promise<void>; spool: DiskSpool }> {
  const byAgent = new Map<string, DiskSpool>();
  const shippers: SpoolShipper[] = [];
  const sender = new NatsBatchSender(NATS());
  const spoolFor = (agent: string) => {
    let s = byAgent.get(agent);
    if (!s) {
      s = new DiskSpool({ dir: join(dir, agent.replace(/[^A-Za-z0-9]/g, '_')), node: agent });
      byAgent.set(agent, s);
      const sh = new SpoolShipper(s, sender, { onAck: () => undefined, onReject: () => undefined, onRetry: () => undefined });
      sh.start();
      shippers.push(sh);
    }
    return s;
  };
  const done = (async () => {
    for (const b of batches) {
      spoolFor(b.agent).append(b);
      shippers.forEach((s) => s.wake());
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
    for (const s of shippers) await s.drain(120000);
    await sender.close();
  })();
  return { done, spool: [...byAgent.values()][0]! };
}

async function storedCounts(): Promise<{ batches: number; edges: Map<string, number>; chainGaps: number }> {
  const store = (await openGraphStore(NEO4J())) as Neo4jGraphStore;
  try {
    const { edges, nodes } = await store.all();
    const stats = await store.stats();
    const chainGaps = nodes.filter((n) => n.type === 'Gap' && n.cause === 'tamper-or-loss').length;
    // The collectors' rules add alerts (CONCERNS edges) to the batches they raise them on; which
    // alerts depends on the order collectors commit in, so only the agents' edges are compared.
    const agentEdges = edges.filter((e) => e.type !== 'CONCERNS');
    return { batches: stats.batches, edges: new Map(agentEdges.map((e) => [e.id, e.count])), chainGaps };
  } finally {
    await store.close();
  }
}

async function expectExactlyOnce(batches: Batch[]): Promise<void> {
  const got = await storedCounts();
  expect(got.batches).toBe(batches.length);
  // Out-of-order commits by several collectors are not mistaken for tampering.
  expect(got.chainGaps).toBe(0);
  const want = expectedCounts(batches);
  expect(got.edges.size).toBe(want.size);
  for (const [id, n] of want) expect([id, got.edges.get(id)]).toEqual([id, n]);
}

async function waitStored(n: number, timeoutMs: number): Promise<void> {
  await until(`${n} batches stored`, async () => (await storedCounts().catch(() => ({ batches: -1 }))).batches >= n, timeoutMs);
}

describe('scale-out: NATS JetStream and collectors, exactly once (real NATS, real Neo4j)', () => {
  const dirs: string[] = [];
  const procs: ResultPromise[] = [];
  beforeEach(async () => {
    await resetStream();
    const s = (await openGraphStore(NEO4J())) as Neo4jGraphStore;
    await s.clear();
    await s.close();
  });
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('stores a batch published twice once', async () => {
    const c = collector();
    procs.push(c);
    const [b] = recordedWorkload('n1:dup', 'n1');
    const nc = await connect({ servers: NATS() });
    const js = jetstream(nc);
    await until('the stream', async () => (await jetstreamManager(nc)).streams.info(BATCH_STREAM.name).then(() => true, () => false));
    const body = JSON.stringify(b);
    const first = await js.publish(batchSubject(b!.agent), body, { msgID: batchMessageId(b!.agent, b!.seq) });
    const again = await js.publish(batchSubject(b!.agent), body, { msgID: batchMessageId(b!.agent, b!.seq) });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true); // JetStream's duplicate window
    // Past the window (a different message id), the store's (agent, seq) key still holds.
    await js.publish(batchSubject(b!.agent), body, { msgID: `${batchMessageId(b!.agent, b!.seq)}-late` });
    await nc.close();
    await waitStored(1, 30000);
    await new Promise((r) => setTimeout(r, 2000));
    await expectExactlyOnce([b!]);
    c.kill('SIGTERM');
    await c;
  }, 300000);

  it('with two collectors and one killed with kill -9 mid-stream, stores every batch exactly once', async () => {
    const dir = tempDir('fp-scale-');
    dirs.push(dir);
    const batches = workload(8, 'kill');
    const a = collector();
    const b = collector();
    procs.push(a, b);
    const pub = await publishPaced(dir, batches, 400);
    await waitStored(Math.floor(batches.length / 4), 120000);
    a.kill('SIGKILL');
    await pub.done;
    // The killed collector's unacknowledged batches come back after the ack wait.
    await waitStored(batches.length, 120000);
    await new Promise((r) => setTimeout(r, 1000));
    await expectExactlyOnce(batches);
    b.kill('SIGTERM');
    await b;
  }, 300000);

  it('with Neo4j stopped for 30 s under load, loses nothing and doubles nothing', async () => {
    const dir = tempDir('fp-scale-');
    dirs.push(dir);
    const batches = workload(6, 'neo');
    const c = collector();
    procs.push(c);
    const pub = await publishPaced(dir, batches, 4);
    await waitStored(10, 60000);
    execaSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', port(NEO4J())]);
    await new Promise((r) => setTimeout(r, 30000));
    execaSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', port(NEO4J())], { timeout: 180000 });
    await pub.done;
    await waitStored(batches.length, 180000);
    await new Promise((r) => setTimeout(r, 1000));
    await expectExactlyOnce(batches);
    c.kill('SIGTERM');
    await c;
  }, 300000);

  it('with nats-server restarted under load, loses nothing and doubles nothing', async () => {
    const dir = tempDir('fp-scale-');
    dirs.push(dir);
    const batches = workload(4, 'nats');
    const c = collector();
    procs.push(c);
    const pub = await publishPaced(dir, batches, 5);
    await waitStored(10, 60000);
    execaSync(join(ROOT, 'scripts', 'nats.sh'), ['stop', port(NATS())]);
    await new Promise((r) => setTimeout(r, 5000));
    execaSync(join(ROOT, 'scripts', 'nats.sh'), ['start', port(NATS())]);
    await pub.done;
    await waitStored(batches.length, 120000);
    await new Promise((r) => setTimeout(r, 1000));
    await expectExactlyOnce(batches);
    c.kill('SIGTERM');
    await c;
  }, 300000);
});
