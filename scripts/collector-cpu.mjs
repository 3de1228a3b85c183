#!/usr/bin/env node
// The collector's CPU per event on its live HTTP path, measured deterministically: an agent's
// batches (the exact bodies it sent: a spool segment, or bodies recorded on the way) POSTed in
// order, one at a time as the agent sends them, to a fresh `faasprov up --store` (SQLite, the
// shipped rules, the agent's token). CPU is the collector process's, from /proc (every thread's
// schedstat run time: user + system, GC and libuv threads included), between its start-up and
// the last acknowledgement. Several --root checkouts alternate repetition by repetition, so two
// builds are compared side by side in one sitting. With --dump, each store's content (nodes,
// edges, batch records less their receive time) is hashed, to show two builds store the same.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const USAGE = `usage: scripts/collector-cpu.mjs --batches FILE [--root DIR]... [--reps N] [--events N] [--warm N] [--dump] [--prof DIR] [--json]

  --batches FILE  one batch body a line, as an agent sent them (its spool segment, or recorded bodies)
  --root DIR      a checkout whose cli/bin/faasprov is measured (default this one); give several to
                  compare builds: they alternate repetition by repetition (A B A B ...)
  --reps N        measured repetitions per root (default 3), each with a fresh collector and store
  --events N      the kernel events the batches stand for (the agent's events_seen), for µs per event
  --warm N        leave the first N batches out of the warm figure (default 3: JIT warm-up)
  --dump          hash each store's content (nodes, edges, batch records less receive time)
  --prof DIR      run each collector under node --cpu-prof, profiles written to DIR
  --json          one JSON line instead of text

A recording: run \`faasprov agent --collector http://127.0.0.1:1 --spool DIR ...\` (no collector there:
every batch stays in the spool, at most --spool-max-mb) under a load such as scripts/template-lab.mjs
with HOLD, stop it, then \`cat DIR/seg-*.jsonl > FILE\` (segments in name order are batches in seq order).
The agent's token is made up here: the collector admits the name before ':' in the batches' agent id.
Prints per root: CPU ms in all and per batch, µs per row (node or edge) and per event, the
warm figures (after --warm batches), and the store digest with --dump.`;

const HERE = dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  process.stderr.write(`collector-cpu: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { roots: [], reps: 3, warm: 3, dump: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const whole = (v, min) => {
      if (!/^\d{1,9}$/.test(v) || Number(v) < min) fail(`${a}: a whole number from ${min}`);
      return Number(v);
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--batches') o.batches = val();
    else if (a === '--root') o.roots.push(resolve(val()));
    else if (a === '--reps') o.reps = whole(val(), 1);
    else if (a === '--events') o.events = whole(val(), 1);
    else if (a === '--warm') o.warm = whole(val(), 0);
    else if (a === '--dump') o.dump = true;
    else if (a === '--prof') o.prof = resolve(val());
    else if (a === '--json') o.json = true;
    else fail(`unknown argument ${a}\n${USAGE}`);
  }
  if (!o.batches) fail(`--batches is required\n${USAGE}`);
  if (o.roots.length === 0) o.roots.push(resolve(HERE, '..'));
  return o;
}

const opts = parseArgs(process.argv.slice(2));

function loadBodies(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  const bodies = text.split('\n').filter((l) => l.trim() !== '');
  if (bodies.length === 0) fail(`${file} holds no batch`);
  let rows = 0;
  let agent;
  for (const [i, body] of bodies.entries()) {
    let b;
    try {
      b = JSON.parse(body);
    } catch (err) {
      fail(`${file}:${i + 1}: not JSON (${err.message})`);
    }
    if (typeof b?.agent !== 'string' || !Array.isArray(b.nodes) || !Array.isArray(b.edges)) fail(`${file}:${i + 1}: not a batch (agent, nodes, edges)`);
    agent ??= b.agent;
    rows += b.nodes.length + b.edges.length;
  }
  return { bodies, rows, name: agent.split(':')[0], rowsOf: bodies.map((s) => { const b = JSON.parse(s); return b.nodes.length + b.edges.length; }) };
}

/** Run time (ns) of every thread of a process so far: user + system, from schedstat. */
function cpuNs(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return ns;
}

const TOKEN = 'collector-cpu-token-0123456789abcdef';

/** One repetition: a fresh collector and store, every body POSTed in order; CPU per batch (ns). */
async function replay(root, w, dir) {
  const db = join(dir, 's.db');
  const env = { ...process.env };
  if (opts.prof) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${opts.prof}`;
  const proc = spawn(join(root, 'cli', 'bin', 'faasprov'), ['up', '--store', db, '--port', '0', '--agent-token', `${w.name}=${TOKEN}`], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the collector did not start within 60 s: ${err.slice(-500)}`)), 60000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /collector and graph service on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    proc.once('exit', (code) => rej(new Error(`the collector exited (${code}): ${err.slice(-500)}`)));
  });
  try {
    const perBatch = [];
    for (const body of w.bodies) {
      const c0 = cpuNs(proc.pid);
      const res = await fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body });
      const text = await res.text();
      if (!res.ok || JSON.parse(text).status !== 'stored') throw new Error(`a batch was not stored: HTTP ${res.status} ${text.slice(0, 300)}`);
      perBatch.push(cpuNs(proc.pid) - c0);
    }
    return perBatch;
  } finally {
    await new Promise((res) => {
      if (proc.exitCode !== null) return res();
      proc.once('exit', res);
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 30000).unref();
    });
  }
}

/** The store's content, ordered: nodes and edges as the store gives them back, batch records less their receive time. */
async function digest(root, db) {
  const { SqliteGraphStore } = await import(pathToFileURL(join(root, 'store', 'dist', 'index.js')).href);
  const store = new SqliteGraphStore(db);
  const h = createHash('sha256');
  try {
    const { nodes, edges } = await store.all();
    const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    for (const n of [...nodes].sort(byId)) h.update(`${JSON.stringify(n, Object.keys(n).sort())}\n`);
    for (const e of [...edges].sort(byId)) h.update(`${JSON.stringify(e, Object.keys(e).sort())}\n`);
  } finally {
    await store.close();
  }
  const Database = createRequire(join(root, 'store', 'package.json'))('better-sqlite3');
  const raw = new Database(db, { readonly: true });
  try {
    for (const r of raw.prepare('SELECT agent, seq, nodes, edges, hash, prev FROM batches ORDER BY agent, seq').all()) h.update(`${JSON.stringify(r)}\n`);
  } finally {
    raw.close();
  }
  return h.digest('hex');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const w = loadBodies(opts.batches);
const warmRows = w.rowsOf.slice(opts.warm).reduce((a, b) => a + b, 0);
const results = opts.roots.map((root) => ({ root, cpuMs: [], warmUsPerRow: [], digests: new Set() }));
for (let rep = 0; rep < opts.reps; rep++) {
  for (const r of results) {
    const dir = mkdtempSync(join(tmpdir(), 'fp-collector-cpu-'));
    try {
      const per = await replay(r.root, w, dir);
      r.cpuMs.push(per.reduce((a, b) => a + b, 0) / 1e6);
      r.warmUsPerRow.push(warmRows > 0 ? per.slice(opts.warm).reduce((a, b) => a + b, 0) / 1e3 / warmRows : 0);
      if (opts.dump) r.digests.add(await digest(r.root, join(dir, 's.db')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const out = {
  batches: w.bodies.length,
  rows: w.rows,
  events: opts.events,
  bytes: w.bodies.reduce((a, b) => a + Buffer.byteLength(b), 0),
  load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  roots: results.map((r) => ({
    root: r.root,
    cpuMs: r.cpuMs.map((x) => +x.toFixed(1)),
    medianCpuMs: +median(r.cpuMs).toFixed(1),
    msPerBatch: +(median(r.cpuMs) / w.bodies.length).toFixed(2),
    usPerRow: +((median(r.cpuMs) * 1000) / w.rows).toFixed(2),
    warmUsPerRow: +median(r.warmUsPerRow).toFixed(2),
    ...(opts.events ? { usPerEvent: +((median(r.cpuMs) * 1000) / opts.events).toFixed(2) } : {}),
    ...(opts.dump ? { digests: [...r.digests] } : {}),
  })),
};
if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  process.stdout.write(`${out.batches} batches, ${out.rows} rows, ${out.bytes} bytes${out.events ? `, ${out.events} events` : ''}; load ${out.load}\n`);
  for (const r of out.roots) {
    process.stdout.write(`${r.root}: CPU ms ${r.cpuMs.join(' ')} (median ${r.medianCpuMs}); ${r.msPerBatch} ms/batch, ${r.usPerRow} µs/row, warm ${r.warmUsPerRow} µs/row${r.usPerEvent !== undefined ? `, ${r.usPerEvent} µs/event` : ''}${r.digests ? `; store ${r.digests.map((d) => d.slice(0, 16)).join(' ')}` : ''}\n`);
  }
}
