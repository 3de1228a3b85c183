#!/usr/bin/env node
// Template lab: the shop (bench/fixtures/shop) deployed once per template variant with
// `faasprov functions up`, all at once, and measured side by side: each round sends one request to
// every stack, the stacks taking every position in turn (in a fixed order, identical stacks
// differed by up to 6% by position alone). Prints each repetition's p50 per stack, the CPU the
// function processes spent per request, and the median of the p50s against the first stack.
// No agent runs: this measures the templates (their shim) alone. Needs root (network namespaces).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// The bench's own shop (deploy and load), built by `npm run build`.
import { KINDS, loadShop as load, upShop, writeShop, writeShopData } from '../bench/dist/shop.js';

const USAGE = `usage: scripts/template-lab.mjs ROUNDS REPEATS NAME=TEMPLATES_DIR[,shim:off][,watchdog:COMM][,VAR:VALUE]...

  TEMPLATES_DIR  a folder holding node24-faasprov/ and python3-http-faasprov/ (e.g. openfaas-templates/template)
  shim:off       deploy that stack with FAASPROV_SHIM=off (the plain template)
  watchdog:COMM  name that stack's watchdog binary COMM (default wd), so that a sensor can watch it alone
  VAR:VALUE      set VAR in every function of that stack
The first stack is the reference of the ratios.

environment:
  KINDS=trivial,files,cpu  the bench's function kinds measured after the checkout (default trivial; empty: none)
  OTLP=HOST:PORT           where the stacks' OTLP relay sends spans (default 127.0.0.1:1: nowhere, exports fail and are dropped)
  KEEP=1                   keep the stacks' folders
  HOLD=SECONDS             only send checkouts for that long, after printing the instances' pids (for perf);
                           after each round a line "hold NS MS MS..." (CLOCK_MONOTONIC ns, then each stack's latency)

example (run from the repository root, as root):
  scripts/template-lab.mjs 150 4 plain=openfaas-templates/template,shim:off shim=openfaas-templates/template`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
function fail(msg) {
  process.stderr.write(`template-lab: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const [rounds, repeats, ...specs] = argv;
  if (!/^\d+$/.test(rounds ?? '') || !/^\d+$/.test(repeats ?? '') || specs.length === 0) fail(`ROUNDS and REPEATS are whole numbers and at least one stack is given\n${USAGE}`);
  const stacks = specs.map((s) => {
    const eq = s.indexOf('=');
    if (eq < 1) fail(`"${s}" is not NAME=TEMPLATES_DIR[,...]`);
    const name = s.slice(0, eq);
    if (!/^[a-z0-9-]{1,20}$/.test(name)) fail(`stack name "${name}": 1-20 of a-z, 0-9, -`);
    const [dir, ...kv] = s.slice(eq + 1).split(',');
    const templates = resolve(dir);
    for (const t of ['node24-faasprov', 'python3-http-faasprov']) {
      try {
        readdirSync(join(templates, t));
      } catch {
        fail(`${templates} has no ${t}/`);
      }
    }
    const env = {};
    let shim = true;
    let watchdog = 'wd';
    for (const x of kv) {
      const c = x.indexOf(':');
      if (c < 1) fail(`"${x}" in stack ${name} is not VAR:VALUE, shim:off or watchdog:COMM`);
      const [k, v] = [x.slice(0, c), x.slice(c + 1)];
      if (k === 'shim') shim = v !== 'off';
      else if (k === 'watchdog') {
        if (!/^[A-Za-z0-9._-]{1,15}$/.test(v)) fail(`watchdog name "${v}": 1-15 of A-Z, a-z, 0-9, . _ -`);
        watchdog = v;
      } else env[k] = v;
    }
    return { name, templates, shim, env, watchdog };
  });
  if (new Set(stacks.map((s) => s.name)).size !== stacks.length) fail('stack names must differ');
  return { rounds: Number(rounds), repeats: Number(repeats), stacks };
}

/** CPU milliseconds (user + system) of a watchdog's children (the function process), from /proc. */
function childCpuMs(parent) {
  let ms = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === parent) ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}

const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { rounds, repeats, stacks } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) fail('needs root (functions up makes network namespaces)');
  const kinds = (process.env.KINDS ?? 'trivial').split(',').filter(Boolean);
  for (const k of kinds) if (!KINDS.includes(k)) fail(`KINDS: unknown kind ${k}`);
  const otlp = process.env.OTLP ?? '127.0.0.1:1';
  const base = mkdtempSync(join(tmpdir(), 'template-lab-'));
  const procs = [];
  const stop = async () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(procs.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    if (!process.env.KEEP) rmSync(base, { recursive: true, force: true });
    else process.stderr.write(`template-lab: kept ${base}\n`);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const deployed = [];
    for (const s of stacks) {
      const dir = join(base, s.name);
      mkdirSync(dir);
      const data = join(dir, 'data');
      writeShopData(data);
      writeShop(dir, data, s);
      process.stderr.write(`template-lab: ${s.name}: functions up (faas-cli build, npm and pip install)\n`);
      const watchdog = join(dir, s.watchdog);
      copyFileSync(join(ROOT, '.tools/bin/of-watchdog'), watchdog);
      const shop = await upShop(dir, { watchdog, otlp });
      procs.push(shop.proc);
      deployed.push(shop);
    }
    const gateways = deployed.map((d) => d.gateway);
    if (process.env.HOLD) {
      process.stdout.write(`pids ${JSON.stringify(Object.fromEntries(stacks.map((s, j) => [s.name, deployed[j].pids])))}\n`);
      for (let i = 0, end = Date.now() + Number(process.env.HOLD) * 1000; Date.now() < end; i++) {
        // One round at a time, the stacks' order turning as in load(), each round's latencies on a line.
        const order = gateways.map((_, k) => (k + i) % gateways.length);
        const r = await load(1, order.map((j) => gateways[j]), 'checkout');
        const ms = gateways.map(() => 0);
        order.forEach((j, k) => (ms[j] = r[k][0]));
        process.stdout.write(`hold ${process.hrtime.bigint()} ${ms.map((x) => x.toFixed(3)).join(' ')}\n`);
      }
      return;
    }
    const fns = ['checkout', ...kinds];
    for (const fn of fns) await load(30, gateways, fn);
    const medians = Object.fromEntries(fns.map((f) => [f, stacks.map(() => [])]));
    for (let rep = 0; rep < repeats; rep++) {
      for (const fn of fns) {
        // The checkout is three invocations: its own process and the two it calls.
        const parts = fn === 'checkout' ? ['checkout', 'catalog', 'payment'] : [fn];
        const cpu0 = deployed.map((d) => parts.map((p) => childCpuMs(d.pids[p])));
        const r = await load(rounds, gateways, fn);
        const cpu1 = deployed.map((d) => parts.map((p) => childCpuMs(d.pids[p])));
        r.forEach((xs, j) => medians[fn][j].push(p50(xs)));
        process.stdout.write(`rep ${rep} ${fn} p50 ms: ${stacks.map((s, j) => `${s.name} ${p50(r[j]).toFixed(3)}`).join('  ')}\n`);
        process.stdout.write(`  CPU ms per request (${parts.join('/')}): ${stacks.map((s, j) => `${s.name} ${parts.map((_, k) => ((cpu1[j][k] - cpu0[j][k]) / rounds).toFixed(2)).join('/')}`).join('  ')}\n`);
      }
    }
    for (const fn of fns) {
      const m = medians[fn].map(p50);
      process.stdout.write(`median of p50s, ${fn}: ${stacks.map((s, j) => `${s.name} ${m[j].toFixed(3)} ms (×${(m[j] / m[0]).toFixed(3)})`).join('  ')}\n`);
    }
  } finally {
    await stop();
  }
}

main().catch((err) => {
  process.stderr.write(`template-lab: ${err.message}\n`);
  process.exitCode = 1;
});
