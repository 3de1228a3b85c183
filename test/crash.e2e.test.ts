import { describe, expect, it, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ALL_TENANTS, BATCH_STREAM, type GraphNode } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { trace } from '@faasprov/graph-service';
import { Agent, Collector, TOKEN, fakeWatchdog, freePort, until } from './agent-harness.js';
import { FAASPROV, tempDir } from './helpers.js';
import { NatsServer } from './nats-harness.js';

type Node = GraphNode & Record<string, unknown>;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A watched workload: writes DIR/in-1, in-2… about ten a second until DIR/stop exists, logging
 * each write's time (µs) to a file outside DIR; then, once DIR/go exists, cat joins every input
 * into DIR/out (the final output).
 */
function workload(wd: string, dir: string, log: string) {
  const step = `i=0; while [ ! -e ${dir}/stop ]; do i=$((i+1)); echo $i > ${dir}/in-$i; echo "$i $(date +%s%6N)" >> ${log}; sleep 0.1; done`;
  const join_ = `while [ ! -e ${dir}/go ]; do sleep 0.1; done; cat ${dir}/in-* > ${dir}/out`;
  return execa(wd, ['-c', `${step}; ${join_}`], { reject: false });
}

/** Stops the writes, lets the last batches go, then has the workload write its output. */
async function finish(dir: string, work: ResultPromise): Promise<void> {
  execaSync('touch', [join(dir, 'stop')]);
  await pause(1000);
  execaSync('touch', [join(dir, 'go')]);
  await work;
}

/**
 * The invariants after crashes: every write is in the graph exactly once or inside a Gap whose
 * interval covers it; no node is doubled; the backward trace from the output reaches every input
 * (the write itself wherever the write is stored).
 */
async function check(store: GraphStore, dir: string, log: string, label: string, rootPid: number, o = { agentRestarted: true, output: true }): Promise<void> {
  const { nodes, edges } = await store.all();
  const all = nodes as Node[];
  const writtenAt = new Map(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]));
  const n = writtenAt.size;
  expect(n).toBeGreaterThan(100);
  const gaps = all.filter((g) => g.type === 'Gap') as unknown as { cause: string; from: number; to: number }[];
  const files = all.filter((f) => f.type === 'File' && typeof f.path === 'string' && (f.path as string).startsWith(`${dir}/in-`));
  // An open for writing is an operation of the edge too (attrs.openFlags, one open per input here): not a write.
  const writesOf = (id: string) =>
    edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.from === id).reduce((a, e) => a + e.count - (e.attrs?.openFlags !== undefined ? 1 : 0), 0);
  let stored = 0;
  let inGaps = 0;
  let lost = 0;
  let doubled = 0;
  const writeVersion = new Map<number, string>();
  for (const [i, t] of writtenAt) {
    const versions = files.filter((f) => f.path === `${dir}/in-${i}` && writesOf(f.id) > 0);
    const writes = versions.reduce((a, f) => a + writesOf(f.id), 0);
    if (writes === 1) {
      stored++;
      writeVersion.set(i, versions[0]!.id);
    } else if (writes > 1) doubled++;
    // The log line is appended just after the write: the write happened shortly before t.
    else if (gaps.some((g) => g.from <= t && g.to >= t - 200_000)) inGaps++;
    else lost++;
  }
  // No node is doubled: the same image must not come back under a second start time (exec vs
  // /proc differ by milliseconds; a reused pid running the same command comes much later).
  const procs = all.filter((p) => p.type === 'Process') as unknown as { pid: number; exe: string; argv: string[]; start: number }[];
  const starts = new Map<string, number[]>();
  for (const p of procs) {
    const key = `${p.pid}\n${p.exe}\n${p.argv.join('\0')}`;
    starts.set(key, [...(starts.get(key) ?? []), p.start]);
  }
  let doubledProcs = 0;
  for (const s of starts.values()) {
    s.sort((a, b) => a - b);
    for (let i = 1; i < s.length; i++) if (s[i]! - s[i - 1]! < 1_000_000) doubledProcs++;
  }
  const instances = all.filter((i) => i.type === 'Instance') as unknown as { rootPid: number }[];
  const doubledInstances = instances.length - new Set(instances.map((i) => i.rootPid)).size;
  const out = all.find((f) => f.type === 'File' && f.path === `${dir}/out` && writesOf(f.id) > 0);
  expect(out !== undefined).toBe(o.output);
  const back = out ? await trace(store, out.id, { direction: 'backward', maxNodes: 100000, scope: ALL_TENANTS }) : { nodes: all };
  const reached = new Set(back.nodes.map((x) => x.id));
  const reachedPaths = new Set((back.nodes as Node[]).filter((x) => x.type === 'File').map((x) => x.path));
  let unreachedInputs = 0;
  let unreachedWrites = 0;
  // For a failure: which version each unreached write made, and which ones of its path the trace met.
  const unreached: string[] = [];
  for (const i of out ? writtenAt.keys() : []) {
    if (!reachedPaths.has(`${dir}/in-${i}`)) unreachedInputs++;
    const v = writeVersion.get(i);
    if (v !== undefined && !reached.has(v)) {
      unreachedWrites++;
      const met = files.filter((f) => f.path === `${dir}/in-${i}` && reached.has(f.id)).map((f) => f.version);
      unreached.push(`in-${i} written ${writtenAt.get(i)} as version ${all.find((f) => f.id === v)?.version}, the trace met ${met.join(', ') || 'none'}`);
    }
  }
  if (unreached.length > 0) {
    const said = all.filter((g) => g.type === 'Gap').map((g) => `${g.cause} ${g.from}..${g.to}: ${g.detail ?? ''}`);
    process.stdout.write(`crash suite (${label}): unreached writes:\n  ${unreached.join('\n  ')}\ngaps:\n  ${said.join('\n  ')}\n`);
  }
  process.stdout.write(
    `crash suite (${label}): writes ${n}, stored ${stored}, in gaps ${inGaps}, lost ${lost}, doubled ${doubled} writes / ${doubledProcs} processes / ${doubledInstances} instances; ` +
      (out ? `trace from the output reaches ${n - unreachedInputs} inputs and ${stored - unreachedWrites} stored writes; ` : 'no output; ') + `gaps: ${gaps.map((g) => g.cause).sort().join(', ')}\n`,
  );
  expect({ lost, doubled, doubledProcs, doubledInstances, unreachedInputs, unreachedWrites }).toEqual({ lost: 0, doubled: 0, doubledProcs: 0, doubledInstances: 0, unreachedInputs: 0, unreachedWrites: 0 });
  expect(stored + inGaps).toBe(n);
  // agent-down gaps concern the workload's instance, which lived through the crashes (picked by
  // its root pid: the store may hold other instances, e.g. of trees another run started).
  const down = all.filter((g) => g.type === 'Gap' && g.cause === 'agent-down');
  expect(down.length > 0).toBe(o.agentRestarted);
  const root = (instances as unknown as { id: string; rootPid: number }[]).find((i) => i.rootPid === rootPid);
  expect(root).toBeDefined();
  const unattributed = down.filter((g) => !edges.some((e) => e.type === 'WAS_ATTRIBUTED_TO' && e.from === g.id && e.to === root!.id));
  expect(unattributed.map((g) => g.id)).toEqual([]);
}

/** A comm of this run's own (at most 15 characters): trees of concurrent runs stay apart. */
const comm = (prefix: string) => `${prefix}${randomBytes(3).toString('hex')}`;

/**
 * Waits until the collectors' consumer has nothing to deliver and nothing awaiting an ack; says
 * how many messages the stream still holds. On a timeout, says what the consumer and a collector said.
 */
async function drained(url: string, timeoutMs: number, collectorSaid: () => Promise<string>): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const consumer = () => jsm.consumers.info(BATCH_STREAM.name, 'faasprov-collector');
    try {
      await until('the consumer to drain', async () => {
        const c = await consumer();
        return c.num_pending === 0 && c.num_ack_pending === 0;
      }, timeoutMs);
    } catch (err) {
      const info = await consumer().catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}; consumer ${JSON.stringify(info)}; the collector said:\n${(await collectorSaid()).slice(-4000)}`);
    }
    return (await jsm.streams.info(BATCH_STREAM.name)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Waits, and on a timeout says what the agent logged. */
async function waitFor(agent: Agent, what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60000): Promise<void> {
  try {
    await until(what, ok, timeoutMs);
  } catch (err) {
    const metrics = (await agent.metricsText()).split('\n').filter((l) => /^faasprov_agent_(batches|spool|ship|events_lost)/.test(l)).join('\n');
    const log = await agent.stop().catch(() => '');
    throw new Error(`${(err as Error).message}; the agent's metrics:\n${metrics}\nthe agent said:\n${log.slice(-3000)}`);
  }
}


// kill -9 of the agent, the collector, nats-server and several at once, under a watched workload (real bpftrace, real stores).
describe('crash safety (kill -9)', () => {
  const dirs: string[] = [];
  const procs: { kill(sig?: NodeJS.Signals): unknown }[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('HTTP: kill -9 of the agent, of the collector, then of both at once', async () => {
    const dir = tempDir('fp-crash-');
    dirs.push(dir);
    const name = comm('fpwdc');
    const wd = fakeWatchdog(dir, name);
    const data = join(dir, 'data');
    execaSync('mkdir', [data]);
    const log = join(dir, 'writes.log');
    const collector = new Collector(join(dir, 's.db'), await freePort());
    await collector.start();
    const spool = join(dir, 'spool');
    const metricsPort = await freePort();
    let agent = new Agent(collector.url, spool, name, metricsPort, ['--batch-interval', '300']);
    await agent.start();
    const work = workload(wd, data, log);
    procs.push(work);
    const acked = () => agent.metric('faasprov_agent_batches_acked_total');
    await waitFor(agent, 'first batches', async () => (await acked()) >= 2);
    await agent.kill9();
    await pause(1500);
    agent = new Agent(collector.url, spool, name, metricsPort, ['--batch-interval', '300']);
    await agent.start();
    await waitFor(agent, 'batches after the restart', async () => (await acked()) >= 2);
    collector.proc?.kill('SIGKILL');
    await collector.proc;
    await pause(2000);
    const before = await acked();
    await collector.start();
    await waitFor(agent, 'batches after the collector came back', async () => (await acked()) >= before + 3, 60000);
    await pause(1000);
    collector.proc?.kill('SIGKILL');
    await agent.kill9();
    await collector.proc;
    await pause(1500);
    await collector.start();
    agent = new Agent(collector.url, spool, name, metricsPort, ['--batch-interval', '300']);
    await agent.start();
    await waitFor(agent, 'batches after the last restart', async () => (await acked()) >= 3);
    await finish(data, work);
    await pause(1500);
    await waitFor(agent, 'the spool to drain', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0, 60000);
    await agent.stop();
    await collector.stop();
    const store = new SqliteGraphStore(collector.store);
    try {
      await check(store, data, log, 'HTTP', work.pid!);
    } finally {
      await store.close();
    }
  }, 420000);

  it('NATS: kill -9 of nats-server, of a collector, then of the agent and nats-server at once', async () => {
    const dir = tempDir('fp-crash-nats-');
    dirs.push(dir);
    const nats = new NatsServer(await freePort(), join(dir, 'jetstream'));
    await nats.start();
    procs.push({ kill: (sig) => nats.proc?.kill(sig) });
    const neo = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await neo.clear();
    const name = comm('fpwdn');
    const wd = fakeWatchdog(dir, name);
    const data = join(dir, 'data');
    execaSync('mkdir', [data]);
    const log = join(dir, 'writes.log');
    const collector = async () => {
      const port = await freePort();
      const proc = execa(FAASPROV, ['collector', '--nats', nats.url, '--store', process.env.FAASPROV_TEST_NEO4J!, '--metrics', `127.0.0.1:${port}`], { reject: false, all: true });
      procs.push(proc);
      const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.json() as Promise<{ batches: { stored: number; duplicate: number }; nats: Record<string, number> }>);
      await until('a collector', () => metrics().then(() => true, () => false), 60000);
      return { proc, metrics };
    };
    const c1 = await collector();
    const c2 = await collector();
    const spool = join(dir, 'spool');
    const metricsPort = await freePort();
    // The harness's Agent reads metrics and kills; it is started here with --nats instead of --collector.
    const natsAgent = async () => {
      const a = new Agent(nats.url, spool, name, metricsPort);
      a.proc = execa(FAASPROV, ['agent', '--nats', nats.url, '--node', 'node-test', '--watch-comm', name, '--spool', spool, '--token', TOKEN,
        '--metrics', `127.0.0.1:${metricsPort}`, '--counter-flush', '2', '--batch-interval', '300', '--otlp', 'off'], { reject: false, all: true });
      procs.push(a.proc);
      await until('the agent', async () => (await a.metric('faasprov_agent_events_seen_total', 'kind="ready"')) >= 1, 90000);
      return a;
    };
    let agent = await natsAgent();
    const work = workload(wd, data, log);
    procs.push(work);
    const acked = () => agent.metric('faasprov_agent_batches_acked_total');
    const stored = async () => (await c1.metrics().catch(() => ({ batches: { stored: 0, duplicate: 0 } }))).batches.stored + (await c2.metrics()).batches.stored;
    await waitFor(agent, 'first batches', async () => (await acked()) >= 2 && (await stored()) >= 2);
    // 1. nats-server alone: the agent keeps batches in its spool, the collectors resume by themselves.
    await nats.kill9();
    await pause(2000);
    await nats.start();
    const before = await acked();
    const storedBefore = await stored();
    await waitFor(agent, 'batches after nats-server came back', async () => (await acked()) >= before + 3, 60000);
    await waitFor(agent, 'the collectors to store again', async () => (await stored()) >= storedBefore + 3, 90000);
    // 2. one collector; 3. the agent and nats-server at once.
    c1.proc.kill('SIGKILL');
    await c1.proc;
    await pause(1500);
    await agent.kill9();
    await nats.kill9();
    await pause(1500);
    await nats.start();
    agent = await natsAgent();
    await waitFor(agent, 'batches after the last restart', async () => (await acked()) >= 3);
    await finish(data, work);
    await pause(1500);
    await waitFor(agent, 'the spool to drain', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0, 60000);
    await agent.stop();
    // The surviving collector stores the rest (the killed one's unacknowledged batches come back
    // after the ack wait): nothing left to deliver, nothing waiting for an ack. Not "the stream is
    // empty": after a kill -9, nats-server 2.9 may keep work-queue messages acknowledged just
    // before it (their removal was not on disk yet); the consumer's ack floor covers them, so they
    // are never delivered again, and they leave at the stream's max age.
    const left = await drained(nats.url, 240000, async () => {
      c2.proc.kill('SIGTERM');
      return String((await c2.proc).all);
    });
    const m2 = await c2.metrics();
    process.stdout.write(`crash suite (NATS): the surviving collector stored ${m2.batches.stored} batches (${m2.batches.duplicate} duplicates); its NATS counters ${JSON.stringify(m2.nats)}; ${left} acknowledged messages left in the stream\n`);
    // It lived through both nats-server restarts and said so.
    expect(m2.nats.reconnects).toBeGreaterThanOrEqual(2);
    expect(m2.nats.resumed).toBeGreaterThanOrEqual(2);
    c2.proc.kill('SIGTERM');
    const said = String((await c2.proc).all);
    expect(said).toMatch(/consuming again, [\d.]+ s after the NATS connection was lost/);
    await nats.kill9();
    try {
      await check(neo, data, log, 'NATS', work.pid!);
    } finally {
      await neo.close();
    }
  }, 480000);

  it('NATS down: the agent keeps batches in its spool, and past its cap records the loss as a spool-full Gap', async () => {
    const dir = tempDir('fp-crash-full-');
    dirs.push(dir);
    const nats = new NatsServer(await freePort(), join(dir, 'jetstream'));
    procs.push({ kill: (sig) => nats.proc?.kill(sig) });
    // bash, for $EPOCHREALTIME: a burst of writes, each logged without a fork.
    const name = comm('fpwdf');
    const sh = join(dir, name);
    copyFileSync('/bin/bash', sh);
    const data = join(dir, 'data');
    execaSync('mkdir', [data]);
    const log = join(dir, 'writes.log');
    const spool = join(dir, 'spool');
    const metricsPort = await freePort();
    const agent = new Agent(nats.url, spool, name, metricsPort);
    agent.proc = execa(FAASPROV, ['agent', '--nats', nats.url, '--node', 'node-test', '--watch-comm', name, '--spool', spool, '--token', TOKEN,
      '--metrics', `127.0.0.1:${metricsPort}`, '--counter-flush', '2', '--batch-interval', '300', '--otlp', 'off', '--spool-max-mb', '1', '--perf-pages', '4096'], { reject: false, all: true });
    procs.push(agent.proc);
    await until('the agent', async () => (await agent.metric('faasprov_agent_events_seen_total', 'kind="ready"')) >= 1, 90000);
    // No output joins the inputs here (a cut of 4,000 reads would not fit a 1 MiB spool): the
    // backward trace is the other cases' concern.
    // Paced a little, with a large ring buffer: this case is about the spool's cap, not about
    // the kernel's buffer (a lost close there can charge a write to the previous file).
    const burst = `i=0; while [ $i -lt 4000 ]; do i=$((i+1)); echo $i > ${data}/in-$i; echo "$i \${EPOCHREALTIME/./}" >> ${log}; ` +
      `[ $((i % 50)) -eq 0 ] && sleep 0.02; done`;
    const work = execa(sh, ['-c', burst], { reject: false });
    procs.push(work);
    // nats-server is not there: batches wait in the spool until it is full, then the newest are dropped.
    await waitFor(agent, 'the spool to fill', async () => (await agent.metric('faasprov_agent_events_lost_total', 'cause="spool-full"')) > 0, 120000);
    // Whole batches are refused when they would pass the cap: what is spooled stays under it.
    expect(await agent.metric('faasprov_agent_spool_bytes')).toBeLessThanOrEqual(1024 * 1024);
    expect(await agent.metric('faasprov_agent_batches_acked_total')).toBe(0);
    await waitFor(agent, 'the burst to end', () => readFileSync(log, 'utf8').trim().split('\n').length >= 4000, 120000);
    await pause(1000);
    expect(await agent.metric('faasprov_agent_batches_acked_total')).toBe(0);
    await nats.start();
    const store = join(dir, 's.db');
    const collector = execa(FAASPROV, ['collector', '--nats', nats.url, '--store', store], { reject: false, all: true });
    procs.push(collector);
    await work;
    await pause(1500);
    await waitFor(agent, 'the spool to drain', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0, 120000);
    await agent.stop();
    await drained(nats.url, 120000, async () => {
      collector.kill('SIGTERM');
      return String((await collector).all);
    });
    collector.kill('SIGTERM');
    await collector;
    await nats.kill9();
    const graph = new SqliteGraphStore(store);
    try {
      const full = (await graph.all()).nodes.filter((g) => g.type === 'Gap' && (g as Node).cause === 'spool-full') as Node[];
      expect(full.length).toBeGreaterThan(0);
      expect(full.reduce((a, g) => a + (g.count as number), 0)).toBeGreaterThan(0);
      await check(graph, data, log, 'NATS down, spool full', work.pid!, { agentRestarted: false, output: false });
    } finally {
      await graph.close();
    }
  }, 480000);
});
