import { describe, expect, it, afterAll } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { BATCH_STREAM, GENESIS_HASH, batchHash, batchSubject, edgeId, fileId, processId, type Batch, type GraphNode } from '@faasprov/model';
import { DiskSpool, NatsBatchSender, SpoolShipper, type PendingBatch } from '@faasprov/agent';
import { ensureStream } from '@faasprov/collector';
import { Neo4jGraphStore, openGraphStore } from '@faasprov/store';
import { execa } from 'execa';
import { FAASPROV, pythonExe, tempDir } from './helpers.js';
import { Agent, TOKEN, fakeWatchdog, freePort, until } from './agent-harness.js';

const NATS = () => process.env.FAASPROV_TEST_NATS!;
const NEO4J = () => process.env.FAASPROV_TEST_NEO4J!;

/** A batch of one process writing n files (about 280 bytes of JSON per file). */
function writes(agent: string, seq: number, prev: string, n: number): Batch {
  const p: GraphNode = { id: processId('n1', 9, 1), type: 'Process', node: 'n1', pid: 9, start: 1, exe: '/usr/bin/python3', argv: ['python3'] };
  const files: GraphNode[] = Array.from({ length: n }, (_, i) => ({ id: fileId('n1', `/srv/burst/file-${i}.json`, 10 + i), type: 'File', node: 'n1', path: `/srv/burst/file-${i}.json`, version: 10 + i }));
  const b: Batch = {
    agent, seq, prev, nodes: [p, ...files],
    edges: files.map((f, i) => ({ id: edgeId('WAS_GENERATED_BY', f.id, p.id), type: 'WAS_GENERATED_BY', from: f.id, to: p.id, firstTime: 10 + i, lastTime: 10 + i, count: 1, bytes: 5 })),
  };
  b.hash = batchHash(b);
  return b;
}

describe('batches a transport refuses for good, and collectors starting together', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a batch over NATS max_payload is refused once, recorded, and never holds up the batches behind it', async () => {
    const nc = await connect({ servers: NATS() });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(BATCH_STREAM.name).catch(() => undefined);
    await ensureStream(jsm);
    const dir = tempDir('fp-bounds-');
    dirs.push(dir);
    const spool = new DiskSpool({ dir, node: 'n1' });
    const big = writes(spool.agent, 0, GENESIS_HASH, 4500);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(1024 * 1024);
    const small = writes(spool.agent, 1, big.hash!, 3);
    spool.append(big);
    spool.append(small);
    const sender = new NatsBatchSender(NATS());
    const rejected: [PendingBatch, string][] = [];
    const acked: number[] = [];
    let retries = 0;
    const shipper = new SpoolShipper(spool, sender, { onAck: (p) => acked.push(p.seq), onReject: (p, why) => rejected.push([p, why]), onRetry: () => retries++ });
    shipper.start();
    try {
      await until('the small batch behind the big one', () => acked.includes(1), 20000);
    } finally {
      await shipper.drain(1000);
    }
    expect(rejected.map(([p]) => p.seq)).toEqual([0]);
    expect(rejected[0]![1]).toMatch(/max_payload/);
    expect(retries).toBe(0);
    expect(spool.pendingCount).toBe(0);
    // The server's limit is read from the connection: a batch cut to it fits.
    expect(sender.maxBodyBytes()).toBe((nc.info?.max_payload ?? 0) - 4096);
    const stored = await jsm.streams.getMessage(BATCH_STREAM.name, { last_by_subj: batchSubject(spool.agent) });
    expect((JSON.parse(stored!.string()) as Batch).seq).toBe(1);
    spool.close();
    await sender.close();
    await jsm.streams.delete(BATCH_STREAM.name);
    await nc.close();
  }, 60000);

  it('a real agent splits a burst of 4,000 written files into batches NATS takes, and every write is stored', async () => {
    const nc = await connect({ servers: NATS() });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(BATCH_STREAM.name).catch(() => undefined);
    const neo = (await openGraphStore(NEO4J())) as Neo4jGraphStore;
    await neo.clear();
    const dir = tempDir('fp-burst-');
    dirs.push(dir);
    const wd = fakeWatchdog(dir, 'fpwdburstn');
    const collector = execa(FAASPROV, ['collector', '--nats', NATS(), '--store', NEO4J()], { reject: false, all: true });
    const metricsPort = await freePort();
    const agent = new Agent(NATS(), join(dir, 'spool'), 'fpwdburstn', metricsPort);
    // Long batch intervals: the burst (about 3 MB of JSON) lands in one or two intervals, each more than NATS's 1 MiB.
    agent.proc = execa(FAASPROV, ['agent', '--nats', NATS(), '--node', 'node-test', '--watch-comm', 'fpwdburstn', '--spool', join(dir, 'spool'), '--token', TOKEN,
      '--metrics', `127.0.0.1:${metricsPort}`, '--batch-interval', '5000', '--otlp', 'off'], { reject: false, all: true });
    try {
      await until('the agent', async () => (await agent.metric('faasprov_agent_events_seen_total', 'kind="ready"')) >= 1, 90000);
      const py = await pythonExe();
      const burst = `import os\nd = "${dir}/${'a-directory-with-a-rather-long-name-for-the-burst-'.repeat(3)}"\nos.mkdir(d)\nfor i in range(4000):\n    open(f"{d}/file-number-{i:05d}.json", "w").write("x")\n`;
      const r = await execa(wd, ['-c', `${py} -c '${burst}'`], { reject: false });
      expect(r.exitCode).toBe(0);
      await until('every write stored', async () => {
        const { nodes } = await neo.all();
        return nodes.filter((n) => n.type === 'File' && n.path.includes('/file-number-')).length >= 4000;
      }, 120000);
      expect(await agent.metric('faasprov_agent_batches_rejected_total')).toBe(0);
      expect(await agent.metric('faasprov_agent_batches_spooled_total')).toBeGreaterThanOrEqual(3);
      const { nodes } = await neo.all();
      expect(nodes.filter((n) => n.type === 'Gap')).toEqual([]);
    } finally {
      await agent.stop();
      collector.kill('SIGTERM');
      await collector;
      await neo.close();
      await nc.close();
    }
  }, 300000);

  it('three collectors opening a fresh Neo4j at once all start (schema creation races are retried)', async () => {
    const u = new URL(NEO4J());
    const driver = neo4j.driver(`bolt://${u.host}`, neo4j.auth.basic(process.env.NEO4J_USER ?? 'neo4j', process.env.NEO4J_PASSWORD ?? ''));
    const session = driver.session();
    try {
      // A fresh database: none of faasprov's constraints or indexes.
      const constraints = await session.run("SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH 'faasprov_' RETURN name");
      for (const r of constraints.records) await session.run(`DROP CONSTRAINT ${r.get('name') as string} IF EXISTS`);
      const indexes = await session.run("SHOW INDEXES YIELD name WHERE name STARTS WITH 'faasprov_' RETURN name");
      for (const r of indexes.records) await session.run(`DROP INDEX ${r.get('name') as string} IF EXISTS`);
      const opened = await Promise.allSettled([1, 2, 3].map(() => openGraphStore(NEO4J())));
      const errors = opened.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message).split('\n')[0]] : []));
      for (const r of opened) if (r.status === 'fulfilled') await (r.value as Neo4jGraphStore).close();
      expect(errors).toEqual([]);
      const names = (await session.run("SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH 'faasprov_' RETURN name")).records.map((r) => r.get('name') as string);
      expect(names).toContain('faasprov_node_id');
    } finally {
      await session.close();
      await driver.close();
    }
  }, 120000);
});
