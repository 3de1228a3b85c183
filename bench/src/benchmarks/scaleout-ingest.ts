import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { BATCH_STREAM, batchMessageId, batchSubject, type Batch } from '@faasprov/model';
import { replayRecording } from '@faasprov/agent';
import { ensureStream } from '@faasprov/collector';
import { Neo4jGraphStore, openGraphStore } from '@faasprov/store';
import type { Benchmark } from './index.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const FAASPROV = join(ROOT, 'cli', 'bin', 'faasprov');
const NEO4J_PORT = '27687';
const NATS_PORT = '24222';

/** A real capture (test/fixtures) replayed as `agents` agents: the same shape of load as a node's. */
function workload(agents: number): Batch[] {
  const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'recorded-capture.lines'), 'utf8').split('\n').filter(Boolean);
  return Array.from({ length: agents }, (_, a) => replayRecording(lines, { agent: `node-${a}:bench`, node: `node-${a}` })).flat();
}

async function publish(url: string, batches: Batch[]): Promise<void> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(BATCH_STREAM.name).catch(() => undefined);
  await ensureStream(jsm);
  const js = jetstream(nc);
  await Promise.all(batches.map((b) => js.publish(batchSubject(b.agent), JSON.stringify(b), { msgID: batchMessageId(b.agent, b.seq) })));
  await nc.close();
}

async function timeToDrain(store: string, nats: string, collectors: number, batches: number): Promise<number> {
  const procs: ChildProcess[] = [];
  const t0 = performance.now();
  for (let i = 0; i < collectors; i++) procs.push(spawn(FAASPROV, ['collector', '--nats', nats, '--store', store], { stdio: 'ignore' }));
  const probe = await openGraphStore(store);
  try {
    for (;;) {
      if ((await probe.stats()).batches >= batches) break;
      if (performance.now() - t0 > 600000) throw new Error('scaleout-ingest: not drained within 10 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    return performance.now() - t0;
  } finally {
    await probe.close();
    for (const p of procs) p.kill('SIGTERM');
  }
}

/** Ingest through JetStream into each store, with one and with two collector processes. */
export const scaleoutIngest: Benchmark = {
  name: 'scaleout-ingest',
  description: 'events/s from a JetStream backlog into SQLite and Neo4j, with 1 and 2 collectors (real NATS, real Neo4j)',
  async run(progress): Promise<Record<string, number | string>> {
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-scale-'));
    const env = { ...process.env, NEO4J_PASSWORD: process.env.NEO4J_PASSWORD ?? 'faasprov-bench-password' };
    process.env.NEO4J_PASSWORD = env.NEO4J_PASSWORD;
    const nats = execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['start', NATS_PORT], { encoding: 'utf8', env }).trim();
    const neo = execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', NEO4J_PORT], { encoding: 'utf8', env, timeout: 600000 }).trim();
    const batches = workload(24);
    const events = batches.reduce((a, b) => a + b.edges.reduce((x, e) => x + e.count, 0), 0);
    const out: Record<string, number | string> = { batches: batches.length, events };
    try {
      // Warm-up (untimed): a JVM just started compiles its hot paths during the first round.
      await publish(nats, batches);
      await timeToDrain(neo, nats, 2, batches.length);
      progress('neo4j warmed up');
      for (const kind of ['sqlite', 'neo4j'] as const) {
        for (const collectors of [1, 2]) {
          const store = kind === 'sqlite' ? join(dir, `s-${collectors}.db`) : neo;
          if (kind === 'neo4j') {
            const s = (await openGraphStore(neo)) as Neo4jGraphStore;
            await s.clear();
            await s.close();
          }
          await publish(nats, batches);
          const ms = await timeToDrain(store, nats, collectors, batches.length);
          const rate = (events / ms) * 1000;
          progress(`${kind}, ${collectors} collector(s): ${batches.length} batches in ${ms.toFixed(0)} ms, ${rate.toFixed(0)} events/s`);
          out[`${kind}${collectors}EventsPerSec`] = rate;
        }
      }
      out.neo4jOverSqliteOneCollector = (out.neo4j1EventsPerSec as number) / (out.sqlite1EventsPerSec as number);
      out.twoOverOneCollectorsNeo4j = (out.neo4j2EventsPerSec as number) / (out.neo4j1EventsPerSec as number);
      return out;
    } finally {
      execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', NEO4J_PORT], { env });
      execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['stop', NATS_PORT], { env });
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
