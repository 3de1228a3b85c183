#!/usr/bin/env node
// Probe cost: the kernel side of the agent's program on the shop's checkout, program variants side
// by side AT ONCE. The shop runs under scripts/template-lab.mjs (HOLD: checkouts without pause) once
// per variant with the shim, each stack with a watchdog name of its own, plus once plain (B, watched
// by none). Each repetition starts one bpftrace per variant, as the bench's sensor phase does (the
// agent's program alone, -o FILE, SCHED_BATCH, paced), each watching one of the stacks (the
// assignment turning every repetition), and reads, while checkouts run, each one's BPF programs' run
// count and run time (kernel.bpf_stats_enabled, from its own program fds), its CPU, its lines by tag
// and its stack's latencies. Every program runs on every syscall of the node, so the variants pay
// the same scope checks for the same other processes in the same seconds: their difference is what
// their own code costs, whatever else the node does meanwhile. A variant is an agent build (its
// dist/index.js), so an old and a new program are measured in one sitting. Needs root.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const USAGE = `usage: scripts/probe-cost.mjs SECONDS REPEATS NAME=AGENT_INDEX_JS[,unwatched|,count]...

  AGENT_INDEX_JS  an agent build's entry (agent/dist/index.js, or a copy of an older build)
  unwatched       that variant watches no process: its runs are the scope checks alone
  count           that variant also counts each probe's runs past its scope check (the watched
                  processes' runs; the counting costs too, so its times are not the program's)
Each repetition runs every variant at once for SECONDS of checkouts. Printed per variant: BPF run
time per checkout (each repetition, and its difference from the first variant's in that
repetition), per BPF program its runs, ns per run and µs per checkout; bpftrace's CPU, lines,
wake-ups (voluntary context switches) and pacing decisions per checkout; p50 of its stack against
the plain one.

environment:
  TEMPLATES=DIR   the templates (default openfaas-templates/template)
  TOP=N           programs listed per variant (default 14)`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NOBODY = 'fpcostnobody';
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

function fail(msg) {
  process.stderr.write(`probe-cost: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const [secs, reps, ...specs] = argv;
  if (!/^\d+$/.test(secs ?? '') || !/^\d+$/.test(reps ?? '') || specs.length === 0) fail(`SECONDS and REPEATS are whole numbers and at least one variant is given\n${USAGE}`);
  const variants = specs.map((s) => {
    const m = /^([a-z0-9-]{1,20})=([^,]+)(,unwatched|,count)?$/.exec(s);
    if (!m) fail(`"${s}" is not NAME=AGENT_INDEX_JS[,unwatched|,count]`);
    return { name: m[1], module: resolve(m[2]), unwatched: m[3] === ',unwatched', count: m[3] === ',count' };
  });
  if (new Set(variants.map((v) => v.name)).size !== variants.length) fail('variant names must differ');
  return { seconds: Number(secs), repeats: Number(reps), variants };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const sum = (xs) => xs.reduce((s, x) => s + x, 0);

/** CPU seconds (user + system, all threads) of a process. */
function cpuSec(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Voluntary context switches of a process (bpftrace has one thread): its wake-ups. */
function wakeups(pid) {
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** The pacer's counters (PacingStats) printed per checkout. */
const PACING = ['pauses', 'busy', 'starts'];

/** What a sensor's window is measured from: its programs' run times, CPU, pacing and wake-ups. */
function sensorSnapshot(s) {
  return { progs: progStats(s.bt.pid), cpu: cpuSec(s.bt.pid), pacing: { ...s.pacer.stats }, wakes: wakeups(s.bt.pid) };
}

/** The BPF programs a process holds: id → { cnt, ns } (fdinfo's run_cnt and run_time_ns). */
function progStats(pid) {
  const out = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:bpf-prog') continue;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    out.set(get('prog_id'), { cnt: get('run_cnt'), ns: get('run_time_ns') });
  }
  return out;
}

function progNames() {
  return new Map(JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })).map((p) => [p.id, p.name]));
}

/** The shop once per watched stack and once plain; resolves once checkouts flow. */
function startLab(watchdogs) {
  const templates = process.env.TEMPLATES ?? 'openfaas-templates/template';
  const stacks = [...watchdogs.map((w, i) => `a${i}=${templates},watchdog:${w}`), `b=${templates},shim:off`];
  const lab = spawn(process.execPath, [join(ROOT, 'scripts/template-lab.mjs'), '1', '1', ...stacks], {
    cwd: ROOT,
    env: { ...process.env, HOLD: '86400', KINDS: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const holds = [];
  let buf = '';
  return new Promise((res, rej) => {
    lab.stdout.on('data', (b) => {
      buf += b;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^hold (\d+) (.*)$/.exec(line);
        if (m) {
          holds.push({ ns: BigInt(m[1]), stacks: m[2].split(' ').map((x) => [Number(x)]) });
          if (holds.length === 20) res({ lab, holds });
        }
      }
    });
    lab.once('exit', (code) => rej(new Error(`template-lab exited with ${code}`)));
  });
}

/** One variant's bpftrace, started and paced as the agent runs it. */
async function startSensor(v, comm, dir) {
  const agent = await import(pathToFileURL(v.module).href);
  const terminator = agent.newTerminator();
  let text = agent.buildProgram({ scope: agent.watchScope([comm], agent.scanWatchedTrees([comm], () => 0)), counterFlushSec: 1 });
  // Every probe's scope check is a predicate on a pid- or tid-keyed map: count what passes it.
  if (v.count) text = text.replace(/(\/@[a-z0-9]+\[(?:tid|pid)\]\/\s*\{)/g, '$1 @__n[probe] = count();');
  const file = join(dir, `${v.name}.bt`);
  const out = join(dir, `${v.name}.out`);
  writeFileSync(file, agent.frameProgram(text, terminator));
  writeFileSync(out, '');
  const bt = spawn('chrt', ['--batch', '0', agent.defaultBpftrace(), '-o', out, file], { env: { ...process.env, ...agent.bpftraceEnv() }, stdio: 'ignore' });
  const s = { v, bt, out, terminator, pacer: undefined, watch: undefined };
  for (const end = Date.now() + 180000; !/(^|\n)B\t/.test(readFileSync(out, 'utf8')); ) {
    if (Date.now() > end || bt.exitCode !== null) {
      await stopSensor(s);
      throw new Error(`bpftrace (${v.name}) did not start`);
    }
    await sleep(200);
  }
  s.pacer = new agent.OutputPacer(bt.pid, { periodMs: agent.DEFAULT_SENSOR_PACE_MS });
  let size = statSync(out).size;
  s.watch = setInterval(() => {
    const now = statSync(out).size;
    if (now > size) s.pacer.output(now - size);
    size = now;
  }, 25);
  return s;
}

async function stopSensor(s) {
  clearInterval(s.watch);
  s.pacer?.stop();
  if (s.bt.exitCode === null && s.bt.signalCode === null) {
    s.bt.kill('SIGINT');
    await new Promise((r) => s.bt.once('exit', r));
  }
}

/**
 * One repetition: every variant at once, variant k watching stack (k + rep) mod n and started
 * (k - rep) mod n-th: the programs on one tracepoint run in the order they were attached, and the
 * first pays the cache misses the others then find warm (30-50 ns a run here).
 */
async function repetition(variants, rep, seconds, holds, dir) {
  const n = variants.length;
  const sensors = new Array(n);
  try {
    for (let i = 0; i < n; i++) {
      const k = (i + rep) % n;
      const stack = (k + rep) % n;
      sensors[k] = { stack, ...(await startSensor(variants[k], variants[k].unwatched ? NOBODY : watchdogName(stack), dir)) };
    }
    const h0 = holds.length;
    await sleep(2000);
    const s0 = sensors.map(sensorSnapshot);
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const s1 = sensors.map(sensorSnapshot);
    const t1 = process.hrtime.bigint();
    const names = progNames();
    const inWindow = holds.filter((h) => h.ns > t0 && h.ns <= t1);
    const checkouts = sum(inWindow.map((h) => h.stacks[0].length));
    if (checkouts === 0) throw new Error(`no checkouts finished within ${seconds} s: give it more SECONDS`);
    const results = sensors.map((s, k) => {
      const progs = new Map();
      for (const [id, x] of s1[k].progs) {
        const name = names.get(id) ?? String(id);
        const p = progs.get(name) ?? { cnt: 0, ns: 0 };
        p.cnt += x.cnt - (s0[k].progs.get(id)?.cnt ?? 0);
        p.ns += x.ns - (s0[k].progs.get(id)?.ns ?? 0);
        progs.set(name, p);
      }
      const tags = {};
      for (const line of readFileSync(s.out, 'utf8').split('\n')) {
        if (!line.endsWith(s.terminator)) continue;
        const f = line.split('\t');
        const ts = BigInt(f[1].replace(s.terminator, ''));
        if (ts > t0 && ts <= t1) tags[f[0]] = (tags[f[0]] ?? 0) + 1;
      }
      const pacing = Object.fromEntries(PACING.map((x) => [x, (s1[k].pacing[x] ?? 0) - (s0[k].pacing[x] ?? 0)]));
      return { checkouts, a: inWindow.flatMap((h) => h.stacks[s.stack]), b: inWindow.flatMap((h) => h.stacks[n]), cpu: s1[k].cpu - s0[k].cpu, progs, tags, pacing, wakes: s1[k].wakes - s0[k].wakes };
    });
    for (const s of sensors) await stopSensor(s);
    // Counted over each bpftrace's life (printed at its exit), against the checkouts of that life.
    const life = sum(holds.slice(h0).map((h) => h.stacks[0].length));
    sensors.forEach((s, k) => {
      if (!s.v.count) return;
      results[k].watchedRuns = new Map();
      for (const m of readFileSync(s.out, 'utf8').matchAll(/^@__n\[(\S+)\]: (\d+)$/gm)) results[k].watchedRuns.set(m[1], Number(m[2]) / life);
    });
    return results;
  } finally {
    for (const s of sensors) if (s) await stopSensor(s);
  }
}

const watchdogName = (stack) => `fpcost${stack}`;
const totalNs = (w) => sum([...w.progs.values()].map((x) => x.ns));

function report(v, ws, firsts) {
  const top = Number(process.env.TOP ?? 14);
  const n = sum(ws.map((w) => w.checkouts));
  const progs = new Map();
  for (const w of ws) for (const [k, x] of w.progs) progs.set(k, { cnt: (progs.get(k)?.cnt ?? 0) + x.cnt, ns: (progs.get(k)?.ns ?? 0) + x.ns });
  const total = sum([...progs.values()].map((x) => x.ns));
  const runs = sum([...progs.values()].map((x) => x.cnt));
  const lines = {};
  for (const w of ws) for (const [t, c] of Object.entries(w.tags)) lines[t] = (lines[t] ?? 0) + c;
  const out = (s) => process.stdout.write(`${s}\n`);
  out(`\n== ${v.name}${v.unwatched ? ' (unwatched)' : v.count ? ' (counting)' : ''}: ${n} checkouts`);
  const per = ws.map((w) => totalNs(w) / w.checkouts / 1000);
  const diff = ws.map((w, i) => per[i] - totalNs(firsts[i]) / firsts[i].checkouts / 1000);
  out(`BPF run time per checkout ${(total / n / 1000).toFixed(1)} µs (${(runs / n).toFixed(1)} runs); per repetition: ${per.map((x) => x.toFixed(1)).join(' ')}`);
  out(`  against the first variant, per repetition: ${diff.map((x) => (x >= 0 ? '+' : '') + x.toFixed(1)).join(' ')} µs (median ${p50(diff).toFixed(1)})`);
  out(`bpftrace CPU per checkout ${((sum(ws.map((w) => w.cpu)) * 1000) / n).toFixed(3)} ms; lines per checkout ${(sum(Object.values(lines)) / n).toFixed(2)} (${Object.entries(lines).sort().map(([t, c]) => `${t} ${(c / n).toFixed(2)}`).join(', ')})`);
  const cpus = ws.map((w) => (w.cpu * 1000) / w.checkouts);
  out(`  per repetition: ${cpus.map((x) => x.toFixed(3)).join(' ')} ms; wake-ups per checkout ${(sum(ws.map((w) => w.wakes)) / n).toFixed(2)}; pacing per checkout: ${PACING.map((x) => `${x} ${(sum(ws.map((w) => w.pacing[x])) / n).toFixed(3)}`).join(', ')}`);
  out(`p50 its stack / plain, per repetition: ${ws.map((w) => `${p50(w.a).toFixed(2)} / ${p50(w.b).toFixed(2)} (${(p50(w.a) / p50(w.b)).toFixed(3)})`).join('  ')}`);
  out('program                                    runs/checkout    ns/run   µs/checkout');
  for (const [k, x] of [...progs].sort((p, q) => q[1].ns - p[1].ns).slice(0, top)) {
    out(`${k.padEnd(42)} ${(x.cnt / n).toFixed(1).padStart(13)} ${(x.cnt ? x.ns / x.cnt : 0).toFixed(0).padStart(9)} ${(x.ns / n / 1000).toFixed(2).padStart(13)}`);
  }
  if (v.count) {
    const watched = new Map();
    for (const w of ws) for (const [k, r] of w.watchedRuns) watched.set(k, (watched.get(k) ?? 0) + r / ws.length);
    out('runs past the scope check per checkout (the watched processes\'):');
    for (const [k, r] of [...watched].sort((p, q) => q[1] - p[1]).slice(0, 2 * top)) out(`  ${k.padEnd(48)} ${r.toFixed(1)}`);
  }
}

async function main() {
  const { seconds, repeats, variants } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) fail('needs root (bpftrace, bpf_stats_enabled, network namespaces)');
  // Checked before the shop is up (minutes): the programs' names come from bpftool.
  if (spawnSync('bpftool', ['version'], { stdio: 'ignore' }).error) fail('needs bpftool on PATH (Debian: apt-get install bpftool; make test installs it)');
  const statsWas = readFileSync(STATS, 'utf8').trim();
  const dir = mkdtempSync(join(tmpdir(), 'probe-cost-'));
  let lab;
  const stop = () => {
    writeFileSync(STATS, statsWas);
    if (lab && lab.exitCode === null && lab.signalCode === null) lab.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    process.stderr.write('probe-cost: the shop up (template-lab)\n');
    const started = await startLab(variants.map((_, k) => watchdogName(k)));
    lab = started.lab;
    writeFileSync(STATS, '1');
    const results = variants.map(() => []);
    for (let rep = 0; rep < repeats; rep++) {
      const ws = await repetition(variants, rep, seconds, started.holds, dir);
      ws.forEach((w, k) => results[k].push(w));
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      process.stderr.write(`probe-cost: rep ${rep}, ${ws[0].checkouts} checkouts, load ${load}: ${ws.map((w, k) => `${variants[k].name} ${(totalNs(w) / w.checkouts / 1000).toFixed(1)} µs, p50 ${p50(w.a).toFixed(2)} ms`).join('; ')}; plain ${p50(ws[0].b).toFixed(2)} ms\n`);
    }
    variants.forEach((v, k) => report(v, results[k], results[0]));
  } finally {
    stop();
  }
}

main().catch((err) => {
  process.stderr.write(`probe-cost: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
