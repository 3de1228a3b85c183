#!/usr/bin/env node
// The node agent's CPU per kernel event, measured deterministically on a recording of bpftrace's
// framed output (what the agent's FIFO carries): the daemon's own path, text reader -> sensor
// line handling and parse -> reorder window -> Observer -> GraphBuffer -> cutBounded every second
// of capture time -> spool append, with the file-version journal and the live table saved before
// each cut (as NodeAgent.tick). CPU is process.cpuUsage() (user + system, GC included) over the
// replay only; every batch's JSON is hashed into one digest, so two builds can be shown to produce
// byte-identical output. The clock (Date.now) is fixed and the agent id too, for that digest.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const USAGE = `usage: scripts/agent-cpu.mjs --recording FILE [--passes N] [--reps N] [--root DIR] [--no-disk] [--no-seed-fds] [--json]

  --recording FILE  bpftrace's framed text output of the agent's program (every printf line ends
                    with the run's terminator; bpftrace's own lines such as "@rc[...]: N" as they came),
                    or a recording of \`faasprov run --record\` (printf lines without a terminator)
  --passes N        the recording replayed N times back to back in one pipeline, each pass shifted
                    in time and its call ids renamed (a node serving the same load on; default 4)
  --reps N          measured repetitions, each in a fresh pipeline (default 5); one unmeasured first
  --root DIR        the checkout whose agent/dist and model/dist are measured (default this one),
                    to compare two builds side by side
  --no-disk         leave out the spool append and the restart state (CPU of the pipeline alone)
  --no-seed-fds     seed only the processes, not the fds they used before the recording began:
                    their reads and writes are then unattributed, as for an agent that found sockets
                    open (procfs seeds only fds on paths)
  --out FILE        also write the last repetition's batches there, one JSON line each (to diff two builds)
  --json            one JSON line instead of text

A process the recording does not see start (no exec, no fork) ran before it began: it is seeded
as a watched root (an Instance whose function is the one its markers name), started 1 s before.
Prints: events, batches, CPU us per event per repetition and their median, and the output digest.`;

const HERE = dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  process.stderr.write(`agent-cpu: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { passes: 4, reps: 5, root: resolve(HERE, '..'), disk: true, seedFds: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--recording') o.recording = val();
    else if (a === '--passes' || a === '--reps') {
      const v = val();
      if (!/^[1-9]\d{0,3}$/.test(v)) fail(`${a}: a whole number from 1 to 9999`);
      o[a.slice(2)] = Number(v);
    } else if (a === '--root') o.root = resolve(val());
    else if (a === '--no-disk') o.disk = false;
    else if (a === '--no-seed-fds') o.seedFds = false;
    else if (a === '--json') o.json = true;
    else if (a === '--out') o.out = resolve(val());
    else fail(`unknown argument ${a}\n${USAGE}`);
  }
  if (!o.recording) fail(`--recording is required\n${USAGE}`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const dist = (p) => import(pathToFileURL(join(opts.root, 'agent/dist', p)).href);
const [{ TextOutputReader }, { BpftraceSensor }, { ReorderBuffer }, { GraphBuffer }, { Observer }, { DiskSpool }, { FileVersions }, { LiveTable }, { AgentMetrics }] = await Promise.all(
  ['sensor/text-output.js', 'sensor/bpftrace.js', 'observer/reorder.js', 'observer/graph-buffer.js', 'observer/observer.js', 'ship/spool.js', 'observer/versions.js', 'live-table.js', 'metrics.js'].map(dist),
);

const { GENESIS_HASH } = await import(pathToFileURL(join(opts.root, 'model/dist/index.js')).href);

const FIXED_NOW_MS = 1_800_000_000_000;
Date.now = () => FIXED_NOW_MS;
const OFFSET_NS = 1_700_000_000_000_000_000n;
const DRAIN_NS = 250_000_000n;
const CUT_NS = 1_000_000_000n;
const WINDOW_NS = 100_000_000n;
const DRAIN_PENDING = 8192;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** The recording cut into lines; its terminator is what its printf lines all end with. */
function load(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const tagged = lines.filter((l) => /^[A-Za-z]\t/.test(l));
  if (tagged.length === 0) fail(`${file} holds no printf line`);
  const term = /([A-Za-z]{12})$/.exec(tagged[0])?.[1];
  if (term && tagged.every((l) => l.endsWith(term) || !/^[A-Za-z]\t\d/.test(l))) return { lines, term };
  // A recording of `faasprov run --record` (printf lines without their terminator): framed here.
  const made = 'qQqQqQqQqQqQ';
  return { lines: lines.map((l) => (/^[A-Za-z]\t/.test(l) ? `${l}${made}` : l)), term: made };
}

/** Pass r of the recording: times shifted by r spans, call ids renamed (a new invocation each time). */
function pass(lines, term, r, span, first) {
  const shift = span * BigInt(r);
  const out = lines.map((l) => {
    const m = /^([A-Za-z])\t(\d+)(\t.*)?$/.exec(l.endsWith(term) ? l.slice(0, -term.length) : l);
    if (!m || !l.endsWith(term)) return l;
    let rest = m[3] ?? '';
    if (m[1] === 'm') rest = rest.replace(/(faasprov:[BE]:)([0-9a-f]{8})/, (_, p) => `${p}${r.toString(16).padStart(8, '0')}`);
    return `${m[1]}\t${BigInt(m[2]) - first + shift + 1_000_000_000n}${rest}${term}`;
  });
  return Buffer.from(out.join('\n') + '\n');
}

/** Pids of the recording and the function each one's markers name. */
function processes(lines, term) {
  const pids = new Map();
  const born = new Set();
  const unopened = new Map();
  const open = new Set();
  for (const l of lines) {
    if (!l.endsWith(term)) continue;
    const f = l.slice(0, -term.length).split('\t');
    if (f[2] === undefined) continue;
    const pid = Number(f[2].split('/')[0]);
    if (f[0] === 'X' && !pids.has(pid)) born.add(pid);
    if (f[0] === 'F') born.add(Number(f[3]));
    if (!/^[ORWLCmDKIYEH]$/.test(f[0]) || born.has(pid)) continue;
    if (!pids.has(pid)) pids.set(pid, undefined);
    if (f[0] === 'm') {
      const fn = / (\S+)$/.exec(f[4] ?? '')?.[1];
      if (fn && pids.get(pid) === undefined) pids.set(pid, fn);
    }
    const fd = f[0] === 'O' ? f[3] : 'RWLC'.includes(f[0]) ? f[4] : undefined;
    if (fd === undefined) continue;
    const k = `${pid}:${fd}`;
    if (f[0] === 'O') open.add(k);
    else if (!open.has(k)) unopened.set(k, { pid, fd: Number(fd) });
    if (f[0] === 'L') open.delete(k);
  }
  return { pids, unopened: [...unopened.values()] };
}

const { lines, term } = load(opts.recording);
const times = lines.map((l) => /^[A-Za-z]\t(\d+)/.exec(l)?.[1]).filter(Boolean).map(BigInt);
const first = times.reduce((m, t) => (t < m ? t : m), times[0]);
const span = times.reduce((m, t) => (t > m ? t : m), first) - first + 1_000_000n;
const bufs = Array.from({ length: opts.passes }, (_, r) => pass(lines, term, r, span, first));
const { pids, unopened } = processes(lines, term);

/** One fresh pipeline over every pass; returns CPU us, events and the digest of its batches. */
async function once(dir) {
  const agent = 'bench:000000000000';
  const spoolDir = join(dir, `spool-${Math.random().toString(36).slice(2)}`);
  mkdirSync(spoolDir, { recursive: true });
  writeFileSync(join(spoolDir, 'meta.json'), JSON.stringify({ agent }) + '\n');
  const spool = opts.disk ? new DiskSpool({ dir: spoolDir, node: 'bench' }) : undefined;
  const versions = new FileVersions(opts.disk ? join(spoolDir, 'versions.jsonl') : undefined);
  const live = new LiveTable(join(spoolDir, 'live.json'));
  const metrics = new AgentMetrics();
  const buffer = new GraphBuffer(false);
  const observer = new Observer(
    {
      node: 'bench',
      agent,
      clockOffsetNs: OFFSET_NS,
      rootCwd: '/',
      instances: { mode: 'process-tree', describe: () => ({}) },
      versions,
      telemetry: new Set(),
    },
    buffer,
  );
  const startUs = Number((OFFSET_NS + 1_000_000n) / 1000n) - 1_000_000;
  for (const [pid, fn] of pids) {
    const fds = new Map([[0, '/dev/null'], [1, '/dev/null']]);
    if (opts.seedFds) for (const u of unopened) if (u.pid === pid && u.fd > 1) fds.set(u.fd, `/seeded/${pid}/fd${u.fd}`);
    observer.seed({ pid, ppid: 1, start: startUs, exe: '/usr/bin/fwatchdog', argv: ['fwatchdog'], cwd: '/', fds, root: true, instance: fn ? { function: fn, namespace: 'bench' } : {} });
  }
  const reorder = new ReorderBuffer(WINDOW_NS, (e) => observer.handle(e));
  let drainAt = DRAIN_PENDING;
  let events = 0;
  let seq = 0;
  let prev = GENESIS_HASH;
  const digest = createHash('sha256');
  /** The digest is the harness's work, not the agent's: its CPU is left out. */
  let batches = 0;
  let digestUs = 0;
  const outLines = [];
  const cut = () => {
    if (opts.disk) {
      live.save(observer.liveProcesses(), observer.lastEventTime);
      versions.persist(observer.lastEventTime);
    }
    observer.flushLosses();
    if (buffer.isEmpty()) return;
    const out = buffer.cutBounded(agent, spool?.nextSeq ?? seq, spool?.lastHash ?? prev, MAX_BATCH_BYTES);
    for (const { batch, json } of out) {
      const d0 = process.cpuUsage();
      digest.update(`${json}\n`);
      if (opts.out) outLines.push(`${json}\n`);
      const d = process.cpuUsage(d0);
      digestUs += d.user + d.system;
      batches++;
      if (spool) {
        if (!spool.append(batch, json)) fail('spool refused a batch');
        spool.ack(batch.seq);
      } else {
        seq = batch.seq + 1;
        prev = batch.hash;
      }
    }
  };
  let nextDrain;
  let nextCut;
  const clock = (ts) => {
    if (nextDrain === undefined) {
      nextDrain = ts + DRAIN_NS;
      nextCut = ts + CUT_NS;
    }
    while (ts >= nextDrain) {
      reorder.drain(nextDrain);
      drainAt = reorder.size + DRAIN_PENDING;
      if (nextDrain >= nextCut) {
        cut();
        nextCut += CUT_NS;
      }
      nextDrain += DRAIN_NS;
    }
  };
  const sensor = new BpftraceSensor(
    { program: '' },
    {
      onEvent: (e) => {
        events++;
        metrics.seen(e.kind);
        clock(e.ts);
        reorder.push(e);
        if (reorder.size >= drainAt) {
          reorder.drain(e.ts);
          drainAt = reorder.size + DRAIN_PENDING;
        }
      },
      onLost: () => fail('the recording reports lost events'),
      onParseError: (err) => fail(`parse error: ${err.message}`),
      onCounters: () => undefined,
      onUnexpectedExit: () => undefined,
    },
  );
  const reader = new TextOutputReader(term, { onPrintf: (t) => sensor.onPrintf(t), onOwnLine: (l) => sensor.onOwnLine(l), onBroken: () => fail('a broken line') });
  const t0 = process.cpuUsage();
  for (const buf of bufs) {
    let start = 0;
    for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
      reader.line(buf, start, i);
      start = i + 1;
    }
  }
  reorder.flushAll();
  observer.settlePendingReads(true);
  cut();
  const used = process.cpuUsage(t0);
  spool?.close();
  rmSync(spoolDir, { recursive: true, force: true });
  const st = observer.stats;
  const stats = { unknownProcess: st.unknownProcess, unattributed: st.unattributed, markerMismatch: st.markerMismatch, inferredCharges: st.inferredCharges, gaps: st.gaps };
  if (opts.out) writeFileSync(opts.out, outLines.join(''));
  return { cpuUs: used.user + used.system - digestUs, events, batches, digest: digest.digest('hex'), stats };
}

const dir = mkdtempSync(join(tmpdir(), 'agent-cpu-'));
try {
  await once(dir);
  const reps = [];
  for (let i = 0; i < opts.reps; i++) reps.push(await once(dir));
  const digests = new Set(reps.map((r) => r.digest));
  if (digests.size !== 1) fail(`the output differs between repetitions: ${[...digests].join(' ')}`);
  const per = reps.map((r) => r.cpuUs / r.events);
  const median = [...per].sort((a, b) => a - b)[Math.floor(per.length / 2)];
  const r0 = reps[0];
  const res = { root: opts.root, events: r0.events, batches: r0.batches, stats: r0.stats, perEventUs: per.map((x) => Number(x.toFixed(3))), medianUs: Number(median.toFixed(3)), digest: r0.digest };
  if (opts.json) process.stdout.write(`${JSON.stringify(res)}\n`);
  else {
    process.stdout.write(`${opts.root}: ${res.events} events, ${res.batches} batches per repetition\n`);
    process.stdout.write(`observer: ${JSON.stringify(res.stats)}\n`);
    process.stdout.write(`CPU us per event: ${res.perEventUs.join(' ')} (median ${res.medianUs})\n`);
    process.stdout.write(`digest ${res.digest}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
