// Bytes the SQLite store keeps per invocation of a trivial function, without the whole
// invocation-latency benchmark:
//   node bench/dist/stored-bytes.js record FILE [node|python] [N]   (root: agent, bpftrace, namespaces)
//   node bench/dist/stored-bytes.js replay FILE
// record runs the template's default handler under the real of-watchdog and agent, keeps every
// batch the agent sent (JSON lines) and measures the live store; replay applies the same batches
// through the collector's apply path into a fresh store, so a change of the store's encoding is
// measured on the same capture in seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { SqliteGraphStore, sqliteStoreSize, storeSizePer, type StoreSize } from '@faasprov/store';
import { freePort, until } from './wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const TOKEN = 'bench-token-0123456789abcdef';
const WATCHDOG = 'fpbyteswd';
const WARM = 30;
/** The line between warm-up batches and measured ones in a recording. */
const MARK = '{"mark":"measure"}';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stop(c: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    c.once('exit', () => res());
    c.kill('SIGTERM');
  });
}

async function invoke(gateway: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gateway}/function/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
    await r.text();
    if (r.status !== 200) throw new Error(`hello answered ${r.status}`);
  }
}

function report(label: string, before: StoreSize, after: StoreSize, n: number, invocations?: number): void {
  const per = storeSizePer(before, after, n);
  process.stdout.write(`${JSON.stringify({ label, invocations: n, invocationNodes: invocations, storedBytesPerInvocation: Math.round(per.bytes), byObject: per.byObject })}\n`);
}

async function record(file: string, lang: 'node' | 'python', n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bytes-'));
  const procs: ChildProcess[] = [];
  writeFileSync(file, '');
  try {
    copyFileSync(join(ROOT, '.tools/bin/of-watchdog'), join(dir, WATCHDOG));
    const template = lang === 'node' ? 'node24-faasprov' : 'python3-http-faasprov';
    cpSync(join(ROOT, 'openfaas-templates/template', template), join(dir, 'template', template), { recursive: true });
    cpSync(join(dir, 'template', template, 'function'), join(dir, 'hello'), { recursive: true });
    writeFileSync(join(dir, 'stack.yaml'), ['version: 1.0', 'provider:', '  name: openfaas', '  gateway: http://127.0.0.1:8080', 'functions:', '  hello:', `    lang: ${template}`, '    handler: ./hello', '    image: hello:latest', ''].join('\n'));
    const db = join(dir, 's.db');
    const [cport, pport, otlp, mport] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const collector = spawn(FAASPROV, ['up', '--store', db, '--port', String(cport), '--agent-token', `bench=${TOKEN}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    procs.push(collector);
    await until('stored-bytes', 'the collector', () => fetch(`http://127.0.0.1:${cport}/healthz`).then((r) => r.ok, () => false), 30000);
    // The agent talks to the collector through this proxy, which keeps every batch body.
    const proxy = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url === '/v1/batches') appendFileSync(file, `${body.toString('utf8')}\n`);
        fetch(`http://127.0.0.1:${cport}${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body: req.method === 'GET' ? undefined : body })
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await r.arrayBuffer()));
          })
          .catch(() => {
            res.writeHead(502);
            res.end();
          });
      });
    });
    await new Promise<void>((r) => proxy.listen(pport, '127.0.0.1', r));
    try {
      const up = spawn(FAASPROV, ['functions', 'up', '-f', 'stack.yaml', '--gateway', '127.0.0.1:0', '--watchdog', join(dir, WATCHDOG), '--otlp', `127.0.0.1:${otlp}`], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      procs.push(up);
      const gateway = await new Promise<string>((res, rej) => {
        let out = '';
        up.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) res((JSON.parse(line) as { gateway: string }).gateway);
        });
        up.once('exit', (code) => rej(new Error(`functions up exited with ${code}`)));
      });
      const agent = spawn(FAASPROV, ['agent', '--collector', `http://127.0.0.1:${pport}`, '--token', TOKEN, '--node', 'bench', '--watch-comm', WATCHDOG,
        '--spool', join(dir, 'spool'), '--metrics', `127.0.0.1:${mport}`, '--counter-flush', '1', '--otlp', `127.0.0.1:${otlp}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      procs.push(agent);
      await until('stored-bytes', 'the agent', async () => (await fetch(`http://127.0.0.1:${mport}/metrics`).then((r) => r.text(), () => '')).includes('faasprov_agent_events_seen_total'), 90000);
      await sleep(2000);
      await invoke(gateway, WARM);
      await sleep(4000);
      const before = sqliteStoreSize(db);
      appendFileSync(file, `${MARK}\n`);
      await invoke(gateway, n);
      await sleep(4000);
      const after = sqliteStoreSize(db);
      report(`live ${lang}`, before, after, n);
      await stop(agent);
    } finally {
      proxy.close();
    }
  } finally {
    for (const p of procs.reverse()) await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function replay(file: string): Promise<void> {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const mark = lines.indexOf(MARK);
  if (mark < 0) throw new Error(`${file} has no measure mark`);
  const n = Number(process.env.FAASPROV_BYTES_N ?? 0) || undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fp-bytes-replay-'));
  const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
  try {
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 's.db');
    const store = new SqliteGraphStore(db);
    const apply = async (ls: string[]) => {
      for (const l of ls) await applyBatch(store, JSON.parse(l), undefined, rules);
    };
    await apply(lines.slice(0, mark));
    const inv0 = (await store.stats()).nodesByType.Invocation ?? 0;
    const before = sqliteStoreSize(db);
    await apply(lines.slice(mark + 1));
    const inv = ((await store.stats()).nodesByType.Invocation ?? 0) - inv0;
    const after = sqliteStoreSize(db);
    report('replay', before, after, n ?? inv, inv);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, file, ...rest] = process.argv.slice(2);
if (mode === 'record' && file) await record(resolve(file), rest[0] === 'python' ? 'python' : 'node', Number(rest[1] ?? 1000));
else if (mode === 'replay' && file) await replay(resolve(file));
else {
  process.stderr.write('usage: stored-bytes record FILE [node|python] [N] | replay FILE\n');
  process.exit(2);
}
