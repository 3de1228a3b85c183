import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteGraphStore, sqliteStoreSize, storeSizePer, type StoreSize } from '@faasprov/store';
import { bpftraceEnv, buildProgram, DEFAULT_SENSOR_PACE_MS, defaultBpftrace, frameProgram, newTerminator, OutputPacer, scanWatchedTrees, watchScope } from '@faasprov/agent';
import { gapTotals, lossFigures } from './accounting.js';
import type { Benchmark } from './index.js';
import { percentile } from './stats.js';
import { KINDS, loadShop, upShop, writeShop, writeShopData, type Kind } from '../shop.js';
import { freePort, until } from '../wait.js';

/** N rounds of one call of fn on each deployment, interleaved (loadShop); latencies in seconds per gateway. */
async function load(rounds: number, gateways: string[], fn = 'checkout'): Promise<Record<string, number[]>> {
  const r = await loadShop(rounds, gateways, fn);
  return Object.fromEntries(gateways.map((g, j) => [g, r[j]!.map((ms) => ms / 1000)]));
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const OF_WATCHDOG = join(ROOT, '.tools/bin/of-watchdog');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const TOKEN = 'bench-token-0123456789abcdef';
/** Rounds per phase; each round is one checkout on each deployment (three function invocations each). */
const ROUNDS = Number(process.env.FAASPROV_BENCH_ROUNDS ?? 150);
/**
 * on: the whole agent; sensor: its bpftrace program alone, paced as the agent paces it, writing to
 * a file (the kernel side's floor). Three on-phases, not two: on this shared machine the unwatched
 * deployment's p50 moved by up to 47% between phases of one run (2026-12-01), and the headline
 * pools every on-phase against every off-phase.
 */
const PHASES = ['off', 'on', 'off', 'on', 'off', 'on', 'off', 'sensor', 'off'] as const;
/**
 * The pooled figures (with vs without) take the phases before the bpftrace-alone one: on-phases
 * 2, 4, 6 against off-phases 1, 3, 5, 7, centred on the same point of the run, so a steady drift
 * of the machine (or of the deployments warming up) does not count as overhead. The last off-phase
 * only brackets the bpftrace-alone phase.
 */
const POOLED = PHASES.indexOf('sensor');
/** Unmeasured checkouts (and calls of each kind) on both deployments before the first phase. */
const WARMUP = Number(process.env.FAASPROV_BENCH_WARMUP ?? 200);
/** The watchdog's comm in each deployment: A is watched, B is not; the pid keeps two runs on one machine apart (15 characters at most). */
const WATCHED = `fpwd${process.pid}`;
const PLAIN = `fppl${process.pid}`;
/**
 * Unmeasured checkouts after the agent starts in an on-phase: a node's agent runs for hours, and
 * its first seconds (V8 still compiling the observer's code; BENCHMARKS.md) are not a
 * per-checkout cost. 0 measures from the first event on, as before 2026-11-30.
 */
const AGENT_WARMUP = Number(process.env.FAASPROV_BENCH_AGENT_WARMUP ?? 100);
/**
 * paused (default): the collector, which runs off the node in a deployment, is stopped (SIGSTOP)
 * while a phase's requests are timed and applies what it received between phases; the agent's
 * batches wait in its spool meanwhile. shared: it runs throughout at nice 19, sharing the two
 * cores with the functions (as until 2026-12-01 afternoon, when its CPU per checkout was measured
 * above the agent's).
 */
const COLLECTOR = process.env.FAASPROV_BENCH_COLLECTOR ?? 'paused';
// A CPU list (taskset's -c) for the agent, its bpftrace, the sensor-only bpftrace and the collector;
// run the bench itself under `taskset -c` on the other CPUs to keep the deployments off them (a
// node that reserves cores for its agent). Unset: everything shares every core, as by default.
const AGENT_CPUS = process.env.FAASPROV_BENCH_AGENT_CPUS;
function pinned(cmd: string, args: string[]): [string, string[]] {
  return AGENT_CPUS ? ['taskset', ['-c', AGENT_CPUS, cmd, ...args]] : [cmd, args];
}
/** Invocations of the trivial function (the template's own handler) whose growth of the store is measured. */
const TRIVIAL = Number(process.env.FAASPROV_BENCH_TRIVIAL ?? 1000);

/** Per phase of a kind: A's p50 over the mean of B's p50 in the off-phases just before and after. */
function bracketedRatios(p50: { a: number[]; b: number[] }, kind: 'on' | 'sensor'): number[] {
  const ratios: number[] = [];
  for (const [i, phase] of PHASES.entries()) {
    if (phase !== kind) continue;
    ratios.push(p50.a[i]! / ((p50.b[i - 1]! + p50.b[i + 1]!) / 2));
  }
  return ratios;
}

/** The mean of bracketedRatios. */
function bracketed(p50: { a: number[]; b: number[] }, kind: 'on' | 'sensor'): number {
  const ratios = bracketedRatios(p50, kind);
  return ratios.reduce((x, y) => x + y, 0) / ratios.length;
}

/** Numbers as one figure, "a / b / c", to a given number of decimals. */
const series = (xs: number[], decimals: number): string => xs.map((x) => x.toFixed(decimals)).join(' / ');

/** n calls of the trivial function. */
async function hello(gateway: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gateway}/function/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`hello at ${gateway} answered ${r.status}: ${body.slice(0, 200)}`);
  }
}

/** A process's /proc stat: its command and the fields after it (state first); undefined once it is gone. */
function procStat(pid: number): { comm: string; fields: string[] } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { comm: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')), fields: st.slice(st.lastIndexOf(')') + 2).split(' ') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) from a stat's fields. */
const cpuOf = (f: string[] | undefined): number => (f ? (Number(f[11]) + Number(f[12])) / 100 : 0);

/** Pids of a process's bpftrace children, from /proc. */
function bpftraceChildren(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      const st = procStat(Number(d));
      return st?.comm === 'bpftrace' && Number(st.fields[1]) === pid;
    })
    .map(Number);
}

/** CPU seconds (user + system) of a process and of its bpftrace children, from /proc. */
function cpuSec(pid: number): { self: number; bpftrace: number } {
  return { self: cpuOf(procStat(pid)?.fields), bpftrace: bpftraceChildren(pid).reduce((t, c) => t + cpuOf(procStat(c)?.fields), 0) };
}

/**
 * Until every pid has exited. A stopped agent does not wait for its bpftrace, which detaches its
 * probes for seconds after (ARCHITECTURE.md, "Stopping"): the probes still fire meanwhile, and
 * would slow the watched deployment in the next off-phase.
 */
async function gone(pids: number[]): Promise<void> {
  const exited = (p: number) => (procStat(p)?.fields[0] ?? 'Z') === 'Z';
  await until('invocation-latency', "the agent's bpftrace to exit", () => pids.every(exited), 60000);
}

/** A summed counter from the agent's Prometheus text. */
async function metric(port: number, name: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

function stop(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    c.once('exit', () => res());
    c.kill(signal);
  });
}

/**
 * The agent's bpftrace program for the watched deployment, alone, framed and launched as the agent
 * does (text output, SCHED_BATCH, output pacing), writing to a file. The file's growth stands in
 * for the agent's reads of its FIFO in telling the pacer that output flows.
 */
async function startSensorOnly(comm: string, out: string): Promise<{ proc: ChildProcess; pacer: OutputPacer; watch: NodeJS.Timeout }> {
  const program = frameProgram(buildProgram({ scope: watchScope([comm], scanWatchedTrees([comm], () => 0)), counterFlushSec: 1 }), newTerminator());
  const env = { ...process.env, ...bpftraceEnv() };
  const c = spawn(...pinned('chrt', ['--batch', '0', defaultBpftrace(), '-o', out, '-e', program]), { env, stdio: ['ignore', 'ignore', 'ignore'] });
  // BEGIN's line ("B\t<ns>") is printed once every probe is attached (and out within the flush interval).
  try {
    await until('invocation-latency', 'bpftrace', async () => /(^|\n)B\t/.test(readFileSync(out, { encoding: 'utf8', flag: 'a+' })), 90000);
  } catch (err) {
    c.kill('SIGKILL');
    throw err;
  }
  const pacer = new OutputPacer(c.pid!, { periodMs: DEFAULT_SENSOR_PACE_MS });
  let size = statSync(out).size;
  const watch = setInterval(() => {
    const now = statSync(out).size;
    if (now > size) pacer.output(now - size);
    size = now;
  }, 25);
  return { proc: c, pacer, watch };
}

type KindLatencies = Record<Kind, { on: { a: number[]; b: number[] }; off: { a: number[]; b: number[] }; sensor: { a: number[]; b: number[] }; agentCpu: number; bpftraceCpu: number; calls: number }>;

/** Per kind, as for the checkout: A watched (agent on) against B unwatched (agent off), B's own slowdown, CPU per invocation. */
function kindFigures(kinds: KindLatencies): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of KINDS) {
    const x = kinds[k];
    const off50 = percentile(x.off.b, 50);
    out[`withoutP50Ms ${k}`] = off50 * 1000;
    out[`p50OverheadPct ${k}`] = (percentile(x.on.a, 50) / off50 - 1) * 100;
    out[`p99OverheadPct ${k}`] = (percentile(x.on.a, 99) / percentile(x.off.b, 99) - 1) * 100;
    out[`sensorOnlyP50OverheadPct ${k}`] = (percentile(x.sensor.a, 50) / off50 - 1) * 100;
    out[`unwatchedSlowdownP50Pct ${k}`] = (percentile(x.on.b, 50) / off50 - 1) * 100;
    out[`agentCpuMsPerInvocation ${k}`] = (x.agentCpu * 1000) / x.calls;
    out[`bpftraceCpuMsPerInvocation ${k}`] = (x.bpftraceCpu * 1000) / x.calls;
  }
  return out;
}

/**
 * The shop's checkout (checkout → catalog, payment through the gateway; files read and written) on
 * two deployments at once, each a `faasprov functions up` stack built from the faasprov templates
 * by the real faas-cli and run under the real of-watchdog: A with the templates' shim and watched
 * by the agent, B the same templates with FAASPROV_SHIM=off (the plain template), not watched. Phases
 * alternate agent off / on; within a phase the client alternates A and B request by request. The
 * agent runs as its own process (`faasprov agent`), as on a node; the collector (`faasprov up`),
 * which runs off the node in a deployment, shares these cores here and is started at the lowest
 * priority (nice 19).
 */
export const invocationLatency: Benchmark = {
  name: 'invocation-latency',
  description: `shop checkout latency on the faasprov templates under of-watchdog, with vs without agent and shim (${ROUNDS} rounds per phase, phases off/on/off/on/off/on/off/sensor-only/off, A and B interleaved)`,
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace, network namespaces)' };
    if (COLLECTOR !== 'paused' && COLLECTOR !== 'shared') throw new Error(`FAASPROV_BENCH_COLLECTOR=${JSON.stringify(COLLECTOR)}: paused or shared`);
    if (AGENT_CPUS !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(AGENT_CPUS)) {
      throw new Error(`FAASPROV_BENCH_AGENT_CPUS=${JSON.stringify(AGENT_CPUS)}: a CPU list as taskset -c takes it (e.g. 1 or 2-3,6)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-shop-'));
    const watched = join(dir, WATCHED);
    const plain = join(dir, PLAIN);
    copyFileSync(OF_WATCHDOG, watched);
    copyFileSync(OF_WATCHDOG, plain);
    const db = join(dir, 's.db');
    const cport = await freePort();
    const otlp = await freePort();
    const collectorUrl = `http://127.0.0.1:${cport}`;
    const collector = spawn(...pinned('nice', ['-n', '19', FAASPROV, 'up', '--store', db, '--port', String(cport), '--agent-token', `bench=${TOKEN}`]), { stdio: ['ignore', 'ignore', 'inherit'] });
    const stacks: ChildProcess[] = [];
    let lost = 0;
    // Whether the collector is stopped now (SIGSTOP): a stopped process would not act on SIGTERM.
    let paused = false;
    /** Until the agent's spool holds no unacknowledged batch (60 s at most). */
    const delivered = (mport: number) => until('invocation-latency', "the agent's batches to be acknowledged", async () => (await metric(mport, 'faasprov_agent_spool_pending_batches')) === 0, 60000);
    const otlpArgs = ['--otlp', `127.0.0.1:${otlp}`];
    try {
      await until('invocation-latency', 'the collector', () => fetch(`${collectorUrl}/healthz`).then((r) => r.ok, () => false), 30000);
      const deploy = async (name: 'A' | 'B', watchdog: string, shim: boolean): Promise<string> => {
        const at = join(dir, name);
        const data = join(at, 'data');
        writeShopData(data);
        // A (shim on) also runs `hello`, the Node template's own handler: the trivial function whose store growth is measured.
        writeShop(at, data, { shim, hello: shim });
        progress(`deployment ${name}: functions up (faas-cli build --shrinkwrap, npm and pip install)`);
        const { proc, gateway } = await upShop(at, { watchdog, otlp: `127.0.0.1:${otlp}` });
        stacks.push(proc);
        return gateway;
      };
      const a = await deploy('A', watched, true);
      const b = await deploy('B', plain, false);
      progress(`warm-up: ${WARMUP} checkouts and ${Math.ceil(WARMUP / 4)} calls of each kind on both deployments`);
      await load(WARMUP, [a, b]);
      for (const k of KINDS) await load(Math.ceil(WARMUP / 4), [a, b], k);
      const lat = { on: { a: [] as number[], b: [] as number[] }, off: { a: [] as number[], b: [] as number[] }, sensor: { a: [] as number[], b: [] as number[] } };
      // Where phase i's latencies are pooled: the off-phase after the bpftrace-alone one is not (POOLED).
      const pool = (i: number) => (i > POOLED ? undefined : PHASES[i]!);
      // p50 of each phase: an on-phase against the off-phases either side of it (A-B-A), so a
      // slow drift of the shared machine's load cancels out.
      const phaseP50 = { a: [] as number[], b: [] as number[] };
      let checkoutsWatched = 0;
      let agentCpu = 0;
      let bpftraceCpu = 0;
      let collectorCpu = 0;
      let collectorCpu0 = 0;
      let collectorInvocations = 0;
      let seen = 0;
      let sensorCpu = 0;
      // The store's growth while the agent ran, over the invocations it watched (three per checkout, one per kind call).
      let shopGrowth = 0;
      // Each kind's latencies per phase kind and deployment, and the agent's and bpftrace's CPU while it ran.
      const kinds = Object.fromEntries(KINDS.map((k) => [k, { on: { a: [] as number[], b: [] as number[] }, off: { a: [] as number[], b: [] as number[] }, sensor: { a: [] as number[], b: [] as number[] }, agentCpu: 0, bpftraceCpu: 0, calls: 0 }])) as KindLatencies;
      const startAgent = async (mport: number): Promise<ChildProcess> => {
        const agent = spawn(...pinned(FAASPROV, ['agent', '--collector', collectorUrl, '--token', TOKEN, '--node', 'bench', '--watch-comm', WATCHED,
          '--spool', join(dir, 'spool'), '--metrics', `127.0.0.1:${mport}`, '--counter-flush', '1', ...otlpArgs]), { stdio: ['ignore', 'ignore', 'inherit'] });
        await until('invocation-latency', 'the agent', async () => (await metric(mport, 'faasprov_agent_events_seen_total')) > 0, 90000);
        return agent;
      };
      for (const [i, phase] of PHASES.entries()) {
        let agent: ChildProcess | undefined;
        let sensor: Awaited<ReturnType<typeof startSensorOnly>> | undefined;
        const mport = await freePort();
        if (phase === 'sensor') sensor = await startSensorOnly(WATCHED, join(dir, 'sensor.jsonl'));
        const size0 = phase === 'on' ? sqliteStoreSize(db) : undefined;
        if (phase === 'on') agent = await startAgent(mport);
        try {
          if (agent && AGENT_WARMUP > 0) await load(AGENT_WARMUP, [a, b]);
          // The agent's start-up batches applied first, so the collector holds nothing back now.
          if (agent) await delivered(mport);
          collectorCpu0 = cpuSec(collector.pid!).self;
          if (COLLECTOR === 'paused') paused = collector.kill('SIGSTOP');
          const cpu0 = agent ? cpuSec(agent.pid!) : undefined;
          const sensorCpu0 = sensor ? cpuSec(sensor.proc.pid!).self : 0;
          const seen0 = agent ? await metric(mport, 'faasprov_agent_events_seen_total') : 0;
          const r = await load(ROUNDS, [a, b]);
          if (sensor) sensorCpu += cpuSec(sensor.proc.pid!).self - sensorCpu0;
          const into = pool(i);
          if (into) {
            lat[into].a.push(...r[a]!);
            lat[into].b.push(...r[b]!);
          }
          phaseP50.a.push(percentile(r[a]!, 50));
          phaseP50.b.push(percentile(r[b]!, 50));
          if (agent && cpu0) {
            checkoutsWatched += ROUNDS;
            const cpu1 = cpuSec(agent.pid!);
            agentCpu += cpu1.self - cpu0.self;
            bpftraceCpu += cpu1.bpftrace - cpu0.bpftrace;
            seen += (await metric(mport, 'faasprov_agent_events_seen_total')) - seen0;
          }
          progress(`phase ${i + 1} (${phase === 'sensor' ? 'bpftrace alone' : `agent ${phase}`}): p50 A ${(percentile(r[a]!, 50) * 1000).toFixed(2)} ms, B ${(percentile(r[b]!, 50) * 1000).toFixed(2)} ms`);
          // The kinds after the checkout, each with its own CPU window (the checkout's figures above
          // exclude them); not after the last off-phase, which only brackets bpftrace alone.
          for (const k of into ? KINDS : []) {
            const c0 = agent ? cpuSec(agent.pid!) : undefined;
            const rk = await load(ROUNDS, [a, b], k);
            kinds[k][into!].a.push(...rk[a]!);
            kinds[k][into!].b.push(...rk[b]!);
            if (agent && c0) {
              const c1 = cpuSec(agent.pid!);
              kinds[k].agentCpu += c1.self - c0.self;
              kinds[k].bpftraceCpu += c1.bpftrace - c0.bpftrace;
              kinds[k].calls += ROUNDS;
            }
          }
          if (into) progress(`  kinds: ${KINDS.map((k) => `${k} p50 A ${(percentile(kinds[k][into].a.slice(-ROUNDS), 50) * 1000).toFixed(2)} ms, B ${(percentile(kinds[k][into].b.slice(-ROUNDS), 50) * 1000).toFixed(2)} ms`).join('; ')}`);
          if (agent) {
            // The batches of the timed requests, delivered: with the collector paused the agent sends
            // them now. Its CPU for that (and for waiting) counts as the checkout's; the collector's
            // from before the requests until here counts for every watched invocation of the phase.
            const c0 = cpuSec(agent.pid!).self;
            if (paused) paused = !collector.kill('SIGCONT');
            await delivered(mport);
            agentCpu += cpuSec(agent.pid!).self - c0;
            collectorCpu += cpuSec(collector.pid!).self - collectorCpu0;
            collectorInvocations += ROUNDS * 3 + (into ? KINDS.length * ROUNDS : 0);
          }
        } finally {
          if (paused) paused = !collector.kill('SIGCONT');
          if (sensor) {
            clearInterval(sensor.watch);
            sensor.pacer.stop();
            await stop(sensor.proc, 'SIGINT');
          }
          if (agent) {
            // Let the last batch reach the collector, then count what was lost.
            await new Promise((r) => setTimeout(r, 2000));
            lost += await metric(mport, 'faasprov_agent_events_lost_total');
            const sensors = bpftraceChildren(agent.pid!);
            await stop(agent);
            await gone(sensors);
            shopGrowth += sqliteStoreSize(db).bytes - size0!.bytes;
          }
        }
      }
      // The trivial function, watched: the store's growth over TRIVIAL invocations (1,000: a page is 4 KiB, so fewer would leave the figure to where pages happen to split) after a warm-up
      // (the instance, its processes and the agent's start are already stored).
      let trivial: { bytes: number; byObject: Record<string, number> } | undefined;
      {
        const mport = await freePort();
        const agent = await startAgent(mport);
        try {
          await hello(a, 30);
          await new Promise((r) => setTimeout(r, 4000));
          const before: StoreSize = sqliteStoreSize(db);
          await hello(a, TRIVIAL);
          await new Promise((r) => setTimeout(r, 4000));
          trivial = storeSizePer(before, sqliteStoreSize(db), TRIVIAL);
          lost += await metric(mport, 'faasprov_agent_events_lost_total');
          progress(`trivial function: ${Math.round(trivial.bytes)} stored bytes per invocation ${JSON.stringify(trivial.byObject)}`);
        } finally {
          await stop(agent);
        }
      }
      await stop(collector);
      const store = new SqliteGraphStore(db);
      const { nodes } = await store.all();
      const gaps = await gapTotals(store);
      await store.close();
      const ms = (x: number) => x * 1000;
      const withP50 = percentile(lat.on.a, 50);
      const withoutP50 = percentile(lat.off.b, 50);
      const units = nodes.filter((n) => n.type === 'Unit').length;
      return {
        checkoutsPerDeploymentAndPhase: ROUNDS,
        agentWarmupCheckouts: AGENT_WARMUP,
        withAgentP50Ms: ms(withP50),
        withAgentP99Ms: ms(percentile(lat.on.a, 99)),
        withoutP50Ms: ms(withoutP50),
        withoutP99Ms: ms(percentile(lat.off.b, 99)),
        p50OverheadPct: (withP50 / withoutP50 - 1) * 100,
        bracketedP50OverheadPct: (bracketed(phaseP50, 'on') - 1) * 100,
        // How far a single comparison across phases can be trusted on this machine: each on-phase's
        // A-B-A figure, and B's p50 in every phase in order (the unwatched deployment: what drifts).
        bracketedP50OverheadPctByOnPhase: series(bracketedRatios(phaseP50, 'on').map((r) => (r - 1) * 100), 1),
        withoutP50MsByPhase: series(phaseP50.b.map(ms), 2),
        // The kernel side alone: the same probes, bpftrace writing to a file, no agent.
        sensorOnlyBracketedP50OverheadPct: (bracketed(phaseP50, 'sensor') - 1) * 100,
        sensorOnlyInterleavedP50Ratio: percentile(lat.sensor.a, 50) / percentile(lat.sensor.b, 50),
        sensorOnlyBpftraceCpuMsPerCheckout: (sensorCpu * 1000) / ROUNDS,
        p99OverheadPct: (percentile(lat.on.a, 99) / percentile(lat.off.b, 99) - 1) * 100,
        // Side by side request by request while the agent runs (B pays the kernel's scope check only).
        interleavedP50Ratio: withP50 / percentile(lat.on.b, 50),
        // The shim's markers alone, agent off.
        shimOnlyP50Ratio: percentile(lat.off.a, 50) / withoutP50,
        // What one checkout (three invocations) costs the node.
        eventsPerCheckout: seen / checkoutsWatched,
        agentCpuMsPerCheckout: (agentCpu * 1000) / checkoutsWatched,
        bpftraceCpuMsPerCheckout: (bpftraceCpu * 1000) / checkoutsWatched,
        // The collector's (off the node in a deployment; here paused while requests are timed, or shared), per watched invocation.
        collector: COLLECTOR,
        collectorCpuMsPerInvocation: (collectorCpu * 1000) / collectorInvocations,
        unitsStored: units,
        // Pages in use of the SQLite store (tables and indexes), its growth per invocation.
        storedBytesPerInvocation: trivial.bytes,
        storedBytesPerInvocationByObject: Object.entries(trivial.byObject).map(([k, v]) => `${k} ${v}`).join(', '),
        // Every invocation watched in the on-phases: the checkout's three and the kinds'.
        watchedStoredBytesPerInvocation: shopGrowth / (checkoutsWatched * 3 + KINDS.reduce((n, k) => n + kinds[k].calls, 0)),
        // The unwatched deployment's own slowdown while the agent runs on the node (shared cores).
        unwatchedSlowdownP50Pct: (percentile(lat.on.b, 50) / withoutP50 - 1) * 100,
        ...kindFigures(kinds),
        ...lossFigures(lost, gaps),
      };
    } finally {
      if (paused) collector.kill('SIGCONT');
      // functions up removes its instances, namespaces and bridge on SIGTERM.
      await Promise.all(stacks.map((p) => stop(p)));
      await stop(collector);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
