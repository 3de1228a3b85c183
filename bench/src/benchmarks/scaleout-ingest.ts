import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { BATCH_STREAM, batchMessageId, batchSubject, type Batch } from '@faasprov/model';
import { ensureStream } from '@faasprov/collector';
import { Neo4jGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import type { Benchmark } from './index.js';
import { ingestWorkload, neo4jCpuMs, type IngestWorkload } from './ingest.js';

/** CPU ms a process has used so far (utime + stime, in 10 ms ticks), or 0 once it is gone. */
function cpuMsOf(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** The whole machine's busy and total CPU ms so far (/proc/stat, every process: others' work too). */
function machineCpuMs(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0) * 10;
  return { busy: total - (f[3]! + f[4]!) * 10, total };
}

/** Where the CPU went during one drain, in cores (CPU ms per wall ms). */
interface Drain {
  ms: number;
  collectorCores: number;
  neo4jCores: number | undefined;
  /** The machine's busy share of all its cores, 0..1: 1 means nothing was left for a second collector. */
  machineBusy: number;
}

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const FAASPROV = join(ROOT, 'cli', 'bin', 'faasprov');
/** Our own services unless FAASPROV_BENCH_NEO4J / FAASPROV_BENCH_NATS name running ones. */
const NEO4J_PORT = '27687';
const NATS_PORT = '24222';
/** A drain that makes no progress for this long has failed (a collector stuck or gone). */
const STALL_MS = 120000;

/** An empty batch stream (and no consumer) before the collectors start: deleting it under them would strand them. */
async function resetStream(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(BATCH_STREAM.name).catch(() => undefined);
    await ensureStream(jsm);
  } finally {
    await nc.close();
  }
}

async function publish(url: string, w: IngestWorkload): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const js = jetstream(nc);
    await Promise.all(
      w.bodies.map((body) => {
        const b = JSON.parse(body) as Batch;
        return js.publish(batchSubject(b.agent), body, { msgID: batchMessageId(b.agent, b.seq) });
      }),
    );
  } finally {
    await nc.close();
  }
}

/** Batches stored: a count the store keeps (stats() would also count every edge, competing with the collectors). */
async function storedBatches(store: GraphStore): Promise<number> {
  if (store instanceof Neo4jGraphStore) return Number((await store.readCypher('MATCH (b:Batch) RETURN count(b) AS n'))[0]?.n ?? 0);
  return (await store.stats()).batches;
}

/** Starts a collector and resolves once it consumes; its stderr is kept for the error message. */
function startCollector(store: string, nats: string): Promise<{ proc: ChildProcess; log: () => string }> {
  const proc = spawn(FAASPROV, ['collector', '--nats', nats, '--store', store], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  return new Promise((res, rej) => {
    const onExit = (code: number | null) => rej(new Error(`scaleout-ingest: a collector exited (${code}) before consuming: ${err.trim().split('\n').slice(-5).join(' | ')}`));
    proc.once('exit', onExit);
    proc.stderr!.on('data', () => {
      if (!/consuming/.test(err)) return;
      proc.off('exit', onExit);
      res({ proc, log: () => err });
    });
  });
}

/**
 * Starts `collectors` collector processes, waits until each consumes (start-up is not timed), then
 * publishes the workload to JetStream and times until the store holds every batch.
 */
async function timeToDrain(store: string, nats: string, collectors: number, w: IngestWorkload): Promise<Drain> {
  const started: { proc: ChildProcess; log: () => string }[] = [];
  const probe = await openGraphStore(store);
  try {
    await resetStream(nats);
    const starts = await Promise.allSettled(Array.from({ length: collectors }, () => startCollector(store, nats)));
    for (const c of starts) if (c.status === 'fulfilled') started.push(c.value);
    for (const c of starts) if (c.status === 'rejected') throw c.reason;
    const exited = started.find((c) => c.proc.exitCode !== null);
    if (exited) throw new Error(`scaleout-ingest: a collector exited: ${exited.log()}`);
    const neoUrl = store.startsWith('bolt') || store.startsWith('neo4j') ? store : undefined;
    const cpu0 = { collectors: started.reduce((a, c) => a + cpuMsOf(c.proc.pid), 0), neo4j: neoUrl ? neo4jCpuMs(neoUrl) : undefined, machine: machineCpuMs() };
    const t0 = performance.now();
    await publish(nats, w);
    let last = -1;
    let progressAt = performance.now();
    for (;;) {
      const n = await storedBatches(probe);
      if (n >= w.bodies.length) break;
      if (n > last) [last, progressAt] = [n, performance.now()];
      const gone = started.find((c) => c.proc.exitCode !== null);
      if (gone) throw new Error(`scaleout-ingest: a collector exited (${gone.proc.exitCode}) with ${n} of ${w.bodies.length} batches stored: ${gone.log().trim().split('\n').slice(-5).join(' | ')}`);
      if (performance.now() - progressAt > STALL_MS) {
        throw new Error(`scaleout-ingest: ${n} of ${w.bodies.length} batches stored and none more in ${STALL_MS / 1000} s; collectors said: ${started.map((c) => c.log().trim().split('\n').slice(-3).join(' | ')).join(' || ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const ms = performance.now() - t0;
    const neo1 = neoUrl ? neo4jCpuMs(neoUrl) : undefined;
    const m = machineCpuMs();
    return {
      ms,
      collectorCores: (started.reduce((a, c) => a + cpuMsOf(c.proc.pid), 0) - cpu0.collectors) / ms,
      neo4jCores: neo1 !== undefined && cpu0.neo4j !== undefined ? (neo1 - cpu0.neo4j) / ms : undefined,
      machineBusy: (m.busy - cpu0.machine.busy) / (m.total - cpu0.machine.total),
    };
  } finally {
    await probe.close();
    for (const c of started) c.proc.kill('SIGTERM');
    await Promise.all(started.map((c) => (c.proc.exitCode !== null ? undefined : new Promise((r) => c.proc.once('exit', r)))));
  }
}

/** Ingest through JetStream into each store, with one and with two collector processes. */
export const scaleoutIngest: Benchmark = {
  name: 'scaleout-ingest',
  description: 'events/s of the recorded capture from JetStream into SQLite and Neo4j, with 1 and 2 collector processes (real NATS, real Neo4j)',
  async run(progress): Promise<Record<string, number | string>> {
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-scale-'));
    const env = { ...process.env, NEO4J_PASSWORD: process.env.NEO4J_PASSWORD ?? 'faasprov-bench-password' };
    process.env.NEO4J_PASSWORD = env.NEO4J_PASSWORD;
    const ownNats = !process.env.FAASPROV_BENCH_NATS;
    const ownNeo4j = !process.env.FAASPROV_BENCH_NEO4J;
    try {
      const nats = process.env.FAASPROV_BENCH_NATS ?? execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['start', NATS_PORT], { encoding: 'utf8', env }).trim();
      const neo = process.env.FAASPROV_BENCH_NEO4J ?? execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', NEO4J_PORT], { encoding: 'utf8', env, timeout: 600000 }).trim();
      const w = ingestWorkload(Number(process.env.FAASPROV_BENCH_INGEST_AGENTS ?? 8), 50);
      const out: Record<string, number | string> = { batches: w.bodies.length, events: w.events, operations: w.operations };
      const emptyNeo4j = async () => {
        // Opening creates the schema, so that the collectors do not race to make it.
        const s = (await openGraphStore(neo)) as Neo4jGraphStore;
        await s.clear();
        await s.close();
      };
      // Warm-up (untimed): a JVM just started compiles its hot paths during the first round.
      await emptyNeo4j();
      await timeToDrain(neo, nats, 2, w);
      progress('neo4j warmed up');
      for (const kind of ['sqlite', 'neo4j'] as const) {
        for (const collectors of [1, 2]) {
          const store = kind === 'sqlite' ? join(dir, `s-${collectors}.db`) : neo;
          if (kind === 'neo4j') await emptyNeo4j();
          const d = await timeToDrain(store, nats, collectors, w);
          const rate = (w.events / d.ms) * 1000;
          progress(`${kind}, ${collectors} collector(s): ${w.bodies.length} batches in ${d.ms.toFixed(0)} ms, ${rate.toFixed(0)} events/s; cores busy: collectors ${d.collectorCores.toFixed(2)}, neo4j ${d.neo4jCores?.toFixed(2) ?? '-'}, machine ${(d.machineBusy * 100).toFixed(0)}%`);
          out[`${kind}${collectors}EventsPerSec`] = rate;
          out[`${kind}${collectors}CollectorCores`] = d.collectorCores;
          if (d.neo4jCores !== undefined) out[`${kind}${collectors}Neo4jServerCores`] = d.neo4jCores;
          out[`${kind}${collectors}MachineBusyPct`] = d.machineBusy * 100;
        }
      }
      await emptyNeo4j();
      out.neo4jOverSqliteOneCollector = (out.neo4j1EventsPerSec as number) / (out.sqlite1EventsPerSec as number);
      out.twoOverOneCollectorsSqlite = (out.sqlite2EventsPerSec as number) / (out.sqlite1EventsPerSec as number);
      out.twoOverOneCollectorsNeo4j = (out.neo4j2EventsPerSec as number) / (out.neo4j1EventsPerSec as number);
      return out;
    } finally {
      if (ownNeo4j) execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', NEO4J_PORT], { env });
      if (ownNats) execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['stop', NATS_PORT], { env });
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
