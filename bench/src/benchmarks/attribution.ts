/**
 * Attribution under concurrency: one instance per template serves 8 requests at once
 * (max_inflight=8), each touching paths unique to its call; the figure is the share of those file
 * operations that the graph charges to the right invocation's unit. An operation missing from the
 * graph, or charged to a process or another call's unit, counts against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSqliteStore } from '@faasprov/store';
import type { Benchmark } from './index.js';
import { freePort, until } from '../wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const TOOLS = join(ROOT, '.tools/bin');
const TOKEN = 'bench-token-0123456789abcdef';
const ROUNDS = Number(process.env.FAASPROV_BENCH_ROUNDS ?? 20);
export const CONCURRENCY = 8;
export const PATHS_PER_CALL = 4;

/** One round: CONCURRENCY calls at once to fn, each writing and reading back its own paths under dir. */
export async function concurrentRound(gateway: string, fn: string, dir: string, concurrency = CONCURRENCY, paths = PATHS_PER_CALL): Promise<string[]> {
  const calls = Array.from({ length: concurrency }, async (_, i) => {
    // The client picks the call id, so the paths can name it before the call.
    const callId = `att-${fn}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${i}`;
    const body = JSON.stringify({ op: 'many', paths: Array.from({ length: paths }, (_, k) => join(dir, `k-${callId}-${k}`)) });
    const r = await fetch(`${gateway}/function/${fn}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-call-id': callId } });
    if (r.status !== 200) throw new Error(`attribution: ${fn} answered ${r.status}: ${await r.text()}`);
    await r.arrayBuffer();
    return callId;
  });
  return Promise.all(calls);
}

export interface Accuracy {
  expected: number;
  correct: number;
  wrong: number;
  missing: number;
  inferred: number;
  accuracy: number;
}

/**
 * From the store: for every call, each of its paths should be written (WAS_GENERATED_BY) and read
 * (USED) by a unit of that call. Reads the SQLite file directly (WAL lets readers in).
 */
export function attributionAccuracy(storeFile: string, dir: string, callIds: string[], paths = PATHS_PER_CALL): Accuracy {
  const g = readSqliteStore(storeFile);
  const nodes = new Map<string, Record<string, unknown>>();
  for (const n of g.nodes) if (n.type === 'File' || n.type === 'Unit' || n.type === 'Process') nodes.set(n.id, n as unknown as Record<string, unknown>);
  const edges = g.edges.filter((e) => e.type === 'USED' || e.type === 'WAS_GENERATED_BY').map((e) => ({ type: e.type, src: e.from, dst: e.to, attrs: e.attrs }));
  const ops = new Map<string, { subject: Record<string, unknown>; inferred: boolean }[]>();
  for (const e of edges) {
    const [fileId, subjectId] = e.type === 'USED' ? [e.dst, e.src] : [e.src, e.dst];
    const file = nodes.get(fileId);
    const subject = nodes.get(subjectId);
    if (!file || !subject || file.type !== 'File' || typeof file.path !== 'string' || !file.path.startsWith(`${dir}/k-`)) continue;
    const key = `${e.type}:${file.path}`;
    const inferred = e.attrs?.inferred === true;
    ops.set(key, [...(ops.get(key) ?? []), { subject, inferred }]);
  }
  let correct = 0;
  let wrong = 0;
  let missing = 0;
  let inferred = 0;
  for (const callId of callIds) {
    for (let k = 0; k < paths; k++) {
      for (const type of ['WAS_GENERATED_BY', 'USED']) {
        const seen = ops.get(`${type}:${join(dir, `k-${callId}-${k}`)}`);
        if (!seen) {
          missing++;
          continue;
        }
        // Right only when every subject charged with it is a unit of this call.
        if (seen.every((s) => s.subject.type === 'Unit' && s.subject.callId === callId)) correct++;
        else wrong++;
        if (seen.some((s) => s.inferred)) inferred++;
      }
    }
  }
  const expected = callIds.length * paths * 2;
  return { expected, correct, wrong, missing, inferred, accuracy: expected === 0 ? 0 : correct / expected };
}

function stop(c: ChildProcess | undefined): Promise<void> {
  return new Promise((res) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return res();
    c.once('exit', () => res());
    c.kill('SIGTERM');
  });
}

/** The two functions, one per template, from test/fixtures/openfaas/handlers. */
function writeStack(dir: string): void {
  const fixtures = join(ROOT, 'test/fixtures/openfaas/handlers');
  mkdirSync(join(dir, 'template'), { recursive: true });
  for (const t of ['node24-faasprov', 'python3-http-faasprov']) cpSync(join(ROOT, 'openfaas-templates/template', t), join(dir, 'template', t), { recursive: true });
  const fns = [
    { name: 'att-node', lang: 'node24-faasprov', handler: 'files.js', target: 'handler.js' },
    { name: 'att-py', lang: 'python3-http-faasprov', handler: 'files.py', target: 'handler.py' },
  ];
  const lines = ['version: 1.0', 'provider:', '  name: openfaas', '  gateway: http://127.0.0.1:8080', 'functions:'];
  for (const f of fns) {
    cpSync(join(dir, 'template', f.lang, 'function'), join(dir, f.name), { recursive: true });
    copyFileSync(join(fixtures, f.handler), join(dir, f.name, f.target));
    lines.push(`  ${f.name}:`, `    lang: ${f.lang}`, `    handler: ./${f.name}`, `    image: ${f.name}:latest`, '    environment:', `      max_inflight: "${CONCURRENCY}"`);
  }
  writeFileSync(join(dir, 'stack.yaml'), `${lines.join('\n')}\n`);
}

export const attribution: Benchmark = {
  name: 'attribution',
  description: `share of file operations charged to the right invocation, ${CONCURRENCY} concurrent requests on one instance per template (${ROUNDS} rounds, ${PATHS_PER_CALL} paths per call)`,
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace, network namespaces)' };
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-attribution-'));
    const data = join(dir, 'data');
    mkdirSync(data);
    writeStack(dir);
    const comm = `fpatt${Math.random().toString(16).slice(2, 8)}`;
    const watchdog = join(dir, comm);
    copyFileSync(join(TOOLS, 'of-watchdog'), watchdog);
    const db = join(dir, 's.db');
    const cport = await freePort();
    const mport = await freePort();
    const otlp = await freePort();
    const collectorUrl = `http://127.0.0.1:${cport}`;
    const otlpArgs = ['--otlp', `127.0.0.1:${otlp}`];
    const collector = spawn('nice', ['-n', '19', FAASPROV, 'up', '--store', db, '--port', String(cport), '--agent-token', `bench=${TOKEN}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    let agent: ChildProcess | undefined;
    let stack: ChildProcess | undefined;
    try {
      await until('attribution', 'the collector', () => fetch(`${collectorUrl}/healthz`).then((r) => r.ok, () => false), 30000);
      agent = spawn(FAASPROV, ['agent', '--collector', collectorUrl, '--node', 'bench', '--watch-comm', comm, '--spool', join(dir, 'spool'), '--token', TOKEN,
        '--metrics', `127.0.0.1:${mport}`, '--batch-interval', '200', ...otlpArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
      await until('attribution', 'the agent', async () => (await fetch(`http://127.0.0.1:${mport}/metrics`).then((r) => r.text(), () => '')).includes('kind="ready"'), 120000);
      progress('functions up (faas-cli build --shrinkwrap, npm and pip install)');
      stack = spawn(FAASPROV, ['functions', 'up', '-f', 'stack.yaml', '--gateway', '127.0.0.1:0', '--watchdog', watchdog, '--otlp', `127.0.0.1:${otlp}`], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      const gateway = await new Promise<string>((res, rej) => {
        let out = '';
        stack!.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) res((JSON.parse(line) as { gateway: string }).gateway);
        });
        stack!.once('exit', (code) => rej(new Error(`functions up exited with ${code}`)));
      });
      const figures: Record<string, number | string> = {};
      for (const [label, fn] of [['node24-faasprov', 'att-node'], ['python3-http-faasprov', 'att-py']] as const) {
        const callIds: string[] = [];
        for (let r = 0; r < ROUNDS; r++) callIds.push(...(await concurrentRound(gateway, fn, data)));
        progress(`${label}: ${callIds.length} calls; waiting for the graph`);
        let acc = attributionAccuracy(db, data, callIds);
        await until('attribution', `${label}'s operations in the graph`, () => {
          acc = attributionAccuracy(db, data, callIds);
          return acc.missing === 0;
        }, 60000).catch(() => undefined);
        figures[`accuracy ${label}`] = Number(acc.accuracy.toFixed(5));
        figures[`operations ${label}`] = acc.expected;
        figures[`wrong ${label}`] = acc.wrong;
        figures[`missing ${label}`] = acc.missing;
        figures[`inferred ${label}`] = acc.inferred;
      }
      return figures;
    } finally {
      await stop(stack);
      await stop(agent);
      await stop(collector);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
