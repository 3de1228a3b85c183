#!/usr/bin/env node
// The live agent's CPU per checkout, builds side by side: the shop deployed twice under the real
// of-watchdog, A (shim, watched) and B (plain), one checkout each per round as invocation-latency
// sends them, watched by `faasprov agent` started as that benchmark starts it (--counter-flush 1,
// --otlp, a collector `faasprov up --store` at nice 19). Each phase starts a fresh agent of one
// build, sends WARMUP unmeasured rounds, then ROUNDS measured ones; the builds alternate phase by
// phase (the order reversed every repetition). Measured per checkout from /proc: the agent's CPU
// per thread group (schedstat, ns), its main thread's voluntary context switches (wake-ups), its
// bpftrace's CPU, the collector's, the events it saw. Needs root (network namespaces, bpftrace).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadShop, upShop, writeShop, writeShopData } from '../bench/dist/shop.js';
import { freePort, until as untilIn } from '../bench/dist/wait.js';

const USAGE = `usage: scripts/agent-live.mjs ROUNDS REPEATS NAME=ROOT[,AGENT_ARG...]...

  ROOT       a built checkout of faasprov (its cli/bin/faasprov runs the agent); the shop and the
             templates come from this script's own checkout
  AGENT_ARG  added to that build's agent command line (e.g. --sensor-pace,0)

environment:
  WARMUP=100    unmeasured rounds after each agent's start (the bench's FAASPROV_BENCH_AGENT_WARMUP)
  EVERY_MS=0    start a round every EVERY_MS ms (0: as fast as they complete); a fixed rate gives
                every phase the same work per second, so periodic costs weigh the same in each
  PERF=NAME     perf record -F 997 -g the measured window of that build's phases (node runs with
                --perf-basic-prof), into PERFDIR (default: the current folder)

example (as root, from the repository root; OLD is a copy of an older build):
  EVERY_MS=45 scripts/agent-live.mjs 400 4 old=/tmp/old new=.`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
function fail(msg) {
  process.stderr.write(`agent-live: ${msg}\n`);
  process.exit(2);
}
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const [roundsArg, repsArg, ...specs] = argv;
if (!/^[1-9]\d*$/.test(roundsArg ?? '') || !/^[1-9]\d*$/.test(repsArg ?? '') || specs.length === 0) fail(`ROUNDS and REPEATS are positive whole numbers and at least one build is given\n${USAGE}`);
const ROUNDS = Number(roundsArg);
const REPS = Number(repsArg);
for (const [k, d] of [['WARMUP', '100'], ['EVERY_MS', '0']]) if (!/^\d+$/.test(process.env[k] ?? d)) fail(`${k} must be a whole number`);
const WARMUP = Number(process.env.WARMUP ?? 100);
const EVERY_MS = Number(process.env.EVERY_MS ?? 0);
if (process.getuid?.() !== 0) fail('needs root (functions up makes network namespaces; the agent runs bpftrace)');
const builds = specs.map((s) => {
  const [nb, ...args] = s.split(',');
  const eq = nb.indexOf('=');
  if (eq < 1) fail(`"${s}" is not NAME=ROOT[,AGENT_ARG...]`);
  const name = nb.slice(0, eq);
  if (!/^[a-z0-9-]{1,20}$/.test(name)) fail(`build name "${name}": 1-20 of a-z, 0-9, -`);
  const root = resolve(nb.slice(eq + 1));
  if (!existsSync(join(root, 'cli/bin/faasprov')) || !existsSync(join(root, 'agent/dist/daemon.js'))) fail(`${root} is not a built faasprov checkout (no cli/bin/faasprov or agent/dist/daemon.js)`);
  return { name, root, args };
});
if (new Set(builds.map((b) => b.name)).size !== builds.length) fail('build names must differ');
if (process.env.PERF && !builds.some((b) => b.name === process.env.PERF)) fail(`PERF=${process.env.PERF}: no such build`);
const TOKEN = 'bench-token-0123456789abcdef';
// Names of their own: another engineer's agent watching `wd` (template-lab's name) must not watch these.
const WATCHED = `alwatch${process.pid}`.slice(0, 15);
const PLAIN = `alplain${process.pid}`.slice(0, 15);
const log = (s) => process.stdout.write(`${s}\n`);
const until = (what, ok, ms) => untilIn('agent-live', what, ok, ms);
async function metric(port, name) {
  try {
    const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let n = 0;
    for (const l of t.split('\n')) if (l.startsWith(name) && !l.startsWith('#')) n += Number(l.split(' ').pop());
    return n;
  } catch {
    return 0;
  }
}

const procs = [];
/** The shop (its three functions, not the kinds) in dir, under a copy of of-watchdog named wdName. */
async function deployShop(dir, wdName, shim, otlp) {
  const data = join(dir, 'data');
  writeShopData(data);
  writeShop(dir, data, { shim, kinds: false });
  const watchdog = join(dir, wdName);
  copyFileSync(join(ROOT, '.tools/bin/of-watchdog'), watchdog);
  const { proc, gateway } = await upShop(dir, { watchdog, otlp });
  procs.push(proc);
  return gateway;
}

/** n rounds of a checkout on each gateway, at EVERY_MS; latencies in ms per gateway. */
const load = (n, gateways) => loadShop(n, gateways, 'checkout', EVERY_MS);

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
/** Per thread of pid: { tid: { comm, ns, vcs, ivcs } }. */
function threads(pid) {
  const out = {};
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      const vcs = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
      const ivcs = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
      out[t] = { comm, ns, vcs, ivcs };
    } catch {
      // gone
    }
  }
  return out;
}
function group(comm, tid, pid) {
  if (String(tid) === String(pid)) return 'main';
  if (/^V8/.test(comm)) return 'v8';
  if (/libuv/.test(comm)) return 'libuv';
  return comm;
}
function diff(a, b, pid) {
  const g = {};
  for (const [t, x] of Object.entries(b)) {
    const y = a[t] ?? { ns: 0, vcs: 0, ivcs: 0 };
    const k = group(x.comm, t, pid);
    g[k] ??= { ns: 0, vcs: 0, ivcs: 0 };
    g[k].ns += x.ns - y.ns;
    g[k].vcs += x.vcs - y.vcs;
    g[k].ivcs += x.ivcs - y.ivcs;
  }
  return g;
}
function bpftracePids(agentPid) {
  const out = [];
  for (const c of children(agentPid)) {
    try {
      if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'bpftrace') out.push(c);
    } catch {}
  }
  return out;
}
function nsOf(pid) {
  let n = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) n += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  } catch {}
  return n;
}
function alive(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'agent-live-'));
process.once('SIGINT', () => {
  for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  setTimeout(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  }, 3000);
});
try {
  const otlp = await freePort();
  const cport = await freePort();
  const collectorUrl = `http://127.0.0.1:${cport}`;
  const collector = spawn('nice', ['-n', '19', join(ROOT, 'cli/bin/faasprov'), 'up', '--store', join(dir, 's.db'), '--port', String(cport), '--agent-token', `bench=${TOKEN}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(collector);
  await until('collector', () => fetch(`${collectorUrl}/healthz`).then((r) => r.ok, () => false), 30000);
  const deploy = (name, wd, shim) => {
    const at = join(dir, name);
    mkdirSync(at);
    return deployShop(at, wd, shim, `127.0.0.1:${otlp}`);
  };
  const a = await deploy('A', WATCHED, true);
  const b = await deploy('B', PLAIN, false);
  await load(100, [a, b]);
  log(`stacks up (rounds every ${EVERY_MS || 'as fast as they complete'} ms); load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  const res = Object.fromEntries(builds.map((x) => [x.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? builds : [...builds].reverse();
    for (const bld of order) {
      const mport = await freePort();
      const spool = join(dir, `spool-${bld.name}-${rep}`);
      const agent = spawn(join(bld.root, 'cli/bin/faasprov'), ['agent', '--collector', collectorUrl, '--token', TOKEN, '--node', 'bench', '--watch-comm', WATCHED,
        '--spool', spool, '--metrics', `127.0.0.1:${mport}`, '--counter-flush', '1', '--otlp', `127.0.0.1:${otlp}`, ...bld.args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: process.env.PERF === bld.name ? '--perf-basic-prof' : '' } });
      procs.push(agent);
      let aerr = '';
      agent.stderr.on('data', (d) => (aerr = (aerr + d).slice(-3000)));
      await until('agent', async () => (await metric(mport, 'faasprov_agent_events_seen_total')) > 0, 90000);
      await load(WARMUP, [a, b]);
      const bts = bpftracePids(agent.pid);
      const t0 = threads(agent.pid);
      const b0 = bts.reduce((s, p) => s + nsOf(p), 0);
      const c0 = nsOf(collector.pid) + children(collector.pid).reduce((s, p) => s + nsOf(p), 0);
      const seen0 = await metric(mport, 'faasprov_agent_events_seen_total');
      let perf;
      if (process.env.PERF === bld.name) perf = spawn('perf', ['record', '-F', '997', '-g', '-p', String(agent.pid), '-o', resolve(process.env.PERFDIR ?? '.', `perf-${bld.name}-${rep}.data`)], { stdio: 'ignore' });
      const w0 = performance.now();
      const r = await load(ROUNDS, [a, b]);
      const wall = performance.now() - w0;
      if (perf) {
        const exited = perf.exitCode !== null || perf.signalCode !== null ? Promise.resolve() : new Promise((r) => perf.once('exit', r));
        perf.kill('SIGINT');
        await exited;
      }
      const t1 = threads(agent.pid);
      const b1 = bts.reduce((s, p) => s + nsOf(p), 0);
      const c1 = nsOf(collector.pid) + children(collector.pid).reduce((s, p) => s + nsOf(p), 0);
      const seen = (await metric(mport, 'faasprov_agent_events_seen_total')) - seen0;
      const lost = await metric(mport, 'faasprov_agent_events_lost_total');
      const d = diff(t0, t1, agent.pid);
      const tot = Object.values(d).reduce((s, x) => s + x.ns, 0);
      const p50 = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const row = { rep, cpu: tot / 1e6 / ROUNDS, bpf: (b1 - b0) / 1e6 / ROUNDS, coll: (c1 - c0) / 1e6 / ROUNDS, ev: seen / ROUNDS, wall: wall / ROUNDS,
        wakes: d.main.vcs / ROUNDS, wakesAll: Object.values(d).reduce((s, x) => s + x.vcs, 0) / ROUNDS, by: Object.fromEntries(Object.entries(d).map(([k, x]) => [k, +(x.ns / 1e6 / ROUNDS).toFixed(3)])), pa: p50(r[0]), pb: p50(r[1]), lost };
      res[bld.name].push(row);
      log(`rep ${rep} ${bld.name}: agent ${row.cpu.toFixed(3)} ms/checkout (${JSON.stringify(row.by)}) main wakes ${row.wakes.toFixed(2)} all ${row.wakesAll.toFixed(2)} | bpftrace ${row.bpf.toFixed(3)} collector ${row.coll.toFixed(3)} | ev ${row.ev.toFixed(1)} round ${row.wall.toFixed(1)} ms A/B ${(row.pa / row.pb).toFixed(3)} lost ${lost} | load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
      agent.kill('SIGTERM');
      await new Promise((r) => (agent.exitCode !== null ? r() : agent.once('exit', r)));
      await until('bpftrace exit', () => bts.every((p) => !alive(p)), 60000);
      if (agent.exitCode !== 0) log(`  agent exit ${agent.exitCode}: ${aerr.slice(-500)}`);
    }
  }
  const med = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  for (const bld of builds) {
    const rs = res[bld.name];
    log(`${bld.name}: agent ms/checkout ${rs.map((x) => x.cpu.toFixed(3)).join(' ')} median ${med(rs.map((x) => x.cpu)).toFixed(3)}; main ${med(rs.map((x) => x.by.main)).toFixed(3)}; wakes ${med(rs.map((x) => x.wakes)).toFixed(2)}; bpftrace ${med(rs.map((x) => x.bpf)).toFixed(3)}; A/B ${med(rs.map((x) => x.pa / x.pb)).toFixed(3)}`);
  }
} finally {
  for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(procs.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
