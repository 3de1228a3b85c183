import { spawn, execFile, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeAgent } from '@faasprov/agent';
import { AgentTokens, ApiKeys, DEFAULT_RULES_FILE, RuleEngine, loadRules } from '@faasprov/collector';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import { resolveTruth, type AlertNode, type TruthRef } from '@faasprov/model';
import { viewPrecision } from './view-precision.js';
import { invocationViews } from './invocation-views.js';
import { freePort } from '../wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const PY = join(ROOT, '.tools/pyvenv/bin/python');
/** What a copy of the shop leaves out: what functions up and the demo make in it. */
const MADE_BY_RUNS = new Set(['build', 'template', 'data', '.faasprov']);

function cli(args: string[], cwd: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(FAASPROV, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Every scripted attack against the example shop (`faasprov demo --list`): the shop runs under the
 * real of-watchdog (`faasprov functions up`), watched by the agent, stored by an in-process
 * collector; each attack runs through `faasprov demo --attack X --json`, which prints its alert and
 * its ground truth (`nodes`); the figures are measured on the store as for the other scenarios.
 * An attack whose ground truth names no nodes is reported as such, not skipped silently.
 */
export async function shopAttacks(progress: (msg: string) => void): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const list = await cli(['demo', '--list'], ROOT, 30000);
  if (list.code !== 0) return { 'shop: skipped': `faasprov demo --list failed: ${list.stderr.trim().slice(0, 200)}` };
  const attacks = JSON.parse(list.stdout) as { attack: string; title: string }[];
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-shop-'));
  const shop = join(dir, 'shop');
  cpSync(join(ROOT, 'examples/shop'), shop, { recursive: true, filter: (src) => !MADE_BY_RUNS.has(basename(src)) || dirname(src) !== join(ROOT, 'examples/shop') });
  cpSync(join(ROOT, 'openfaas-templates/template'), join(shop, 'template'), { recursive: true });
  // Only this run's instances are watched: of-watchdog under a name of its own.
  const comm = `fpbshop${process.pid % 100000}`;
  copyFileSync(join(ROOT, '.tools/bin/of-watchdog'), join(dir, comm));
  const store = new SqliteGraphStore(join(dir, 's.db'));
  const token = 'bench-token-0123456789abcdef';
  const key = 'bench-investigator-key-0123456789';
  const app = await buildServer({
    store, keys: new ApiKeys([{ name: 'bench', role: 'investigator', tenants: '*', key }], AgentTokens.parse([`bench=${token}`])),
    rules: new RuleEngine(loadRules(DEFAULT_RULES_FILE)), uiDir: false,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  // Built first, as make demo does: the agent probes photos' CUDA runtime (in its dependencies) from its start.
  const built = await cli(['functions', 'build', '-f', 'stack.yaml'], shop, 900000);
  if (built.code !== 0) {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    return { 'shop: skipped': `faasprov functions build failed: ${built.stderr.trim().split('\n').at(-1) ?? ''}` };
  }
  const gpuLibs = (JSON.parse(built.stdout) as { functions: { gpuLibraries: string[] }[] }).functions.flatMap((f) => f.gpuLibraries);
  const otlp = await freePort();
  mkdirSync(join(shop, 'data', 'catalog'), { recursive: true });
  const agent = new NodeAgent({
    collector: url, token, node: 'bench', watchComms: [comm], spoolDir: join(dir, 'spool'), counterFlushSec: 1, log: () => undefined,
    otlp: { host: '127.0.0.1', port: otlp }, volumes: [`${join(shop, 'data', 'catalog')}=catalog:durable`], gpuLibs,
  });
  let running = false;
  let up: ChildProcessByStdio<null, Readable, Readable> | undefined;
  let upErr = '';
  try {
    // The agent first: a watchdog that starts before the probes attach is never watched.
    await agent.start();
    running = true;
    const seeded = await new Promise<number>((res) => spawn(PY, [join(shop, 'seed.py'), join(shop, 'data')], { stdio: 'ignore' }).on('exit', (c) => res(c ?? 1)));
    if (seeded !== 0) throw new Error('the shop seed failed');
    up = spawn(FAASPROV, ['functions', 'up', '-f', 'stack.yaml', '--no-build', '--gateway', '127.0.0.1:0', '--watchdog', join(dir, comm), '--otlp', `127.0.0.1:${otlp}`], { cwd: shop, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stderr.on('data', (c: Buffer) => { upErr = (upErr + c.toString()).slice(-4000); });
    const started = up;
    await new Promise<void>((res, rej) => {
      let text = '';
      const timer = setTimeout(() => rej(new Error(`functions up did not become ready in 600 s: ${upErr}`)), 600000);
      started.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.split('\n').some((l) => l.startsWith('{'))) {
          clearTimeout(timer);
          res();
        }
      });
      started.on('exit', (c) => { clearTimeout(timer); rej(new Error(`functions up exited (${c}): ${upErr}`)); });
    });
    progress(`shop up; attacks: ${attacks.map((a) => a.attack).join(', ')}`);
    for (const { attack } of attacks) {
      const name = `shop-${attack}`;
      const r = await cli(['demo', '--attack', attack, '-f', join(shop, 'stack.yaml'), '--server', url, '--key', key, '--json', '--wait-s', '90'], shop, 300000);
      if (r.code !== 0) {
        const lines = r.stderr.trim().split('\n');
        out[`${name} alert`] = `demo failed (${r.code}): ${lines.find((l) => /Error|FP_ERR/.test(l)) ?? lines.at(-1) ?? ''}`;
        progress(`${name}: faasprov demo failed:\n${r.stderr.slice(-3000)}`);
        continue;
      }
      const { alert, truth, invocation } = JSON.parse(r.stdout) as { alert: AlertNode; invocation: string; truth: { nodes?: TruthRef[]; views?: ('backward' | 'forward')[] } };
      if (!truth.nodes?.length) {
        out[`${name} ground truth`] = 'names no nodes (truth.nodes)';
        continue;
      }
      // The demo prints once the view holds the chain; the store has it too.
      const { nodes, edges } = await store.all();
      const t = resolveTruth(truth.nodes, nodes, edges);
      if (t.unmatched.length > 0) out[`${name} ground truth not in the store`] = t.unmatched.map((u) => `${u.type} ${JSON.stringify(u.match)}`).join('; ');
      const figures = await viewPrecision(store, name, alert, t.nodes);
      Object.assign(out, { [`${name} alert`]: alert.rule }, figures);
      // Part of the truth after the alerted invocation (forward): measured on the views the demo tells it with.
      if (truth.views?.includes('forward')) Object.assign(out, await invocationViews(store, name, invocation, truth.views, t.nodes));
      progress(`${name}: full ${figures[`${name} full: nodes`]} nodes, attack ${figures[`${name} attack: nodes`]} nodes + ${figures[`${name} attack: context groups`]} context groups, recall ${figures[`${name} attack: recall`]}`);
    }
    return out;
  } finally {
    await cli(['functions', 'down', '-f', 'stack.yaml', '--grace', '2'], shop, 120000);
    if (up && up.exitCode === null) await new Promise((r) => up!.once('exit', r));
    if (running) await agent.stop();
    await app.close();
    await store.close();
    if (process.env.FAASPROV_BENCH_KEEP) cpSync(join(dir, 's.db'), join(process.env.FAASPROV_BENCH_KEEP, 'attack-precision-shop.db'));
    rmSync(dir, { recursive: true, force: true });
  }
}
