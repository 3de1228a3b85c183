// Runs the faasprov OpenFaaS templates' real wrapper servers locally, as the shrinkwrapped build
// runs them (dependencies from the caches `make template-deps` fills), with a test OTLP receiver and
// echo servers that record the headers of the function's outgoing calls.
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { ROOT, tempDir } from './helpers.js';

export const TEMPLATES = join(ROOT, 'openfaas-templates', 'template');
export const TEMPLATE_DEPS = join(ROOT, '.tools', 'template-deps');
export type Lang = 'node24-faasprov' | 'python3-http-faasprov';

/** The venv that has the python template's requirements (and opentelemetry-proto for the receiver). */
export const PY_VENV = join(TEMPLATE_DEPS, 'python3-http-faasprov');
const NODE_DEPS = join(TEMPLATE_DEPS, 'node24-faasprov');

function need(dir: string): void {
  if (!existsSync(join(dir, '.complete'))) throw new Error(`${dir} is missing: run \`make template-deps\` first`);
}

export interface Span {
  resource: Record<string, unknown>;
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  /** Nanoseconds since the epoch, as decimal strings. */
  startNs: string;
  endNs: string;
  events: { name: string; timeNs: string; attributes: Record<string, unknown> }[];
  status: { code: number; message: string };
  path: string;
  contentType: string;
}

/** Lines a child prints, as they come. */
class Lines {
  readonly all: string[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      rest += d;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      this.all.push(...parts);
    });
  }

  async waitFor<T>(pick: (lines: string[]) => T | undefined, what: string, timeoutMs = 15000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pick(this.all);
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; saw:\n${this.all.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface Receiver {
  url: string;
  spans(): Span[];
  refused(): number;
  waitForSpans(pred: (s: Span[]) => boolean, what: string, timeoutMs?: number): Promise<Span[]>;
  stop(): Promise<void>;
}

/** The OTLP/HTTP test receiver (the official generated protobuf classes decode each export). */
export async function startReceiver(opts: { fail?: boolean } = {}): Promise<Receiver> {
  need(PY_VENV);
  const child = execa(join(PY_VENV, 'bin', 'python'), [join(ROOT, 'test', 'fixtures', 'otlp_receiver.py'), ...(opts.fail ? ['--fail'] : [])], { reject: false });
  const out = new Lines(child.stdout!);
  const port = await out.waitFor((l) => (l[0] ? (JSON.parse(l[0]) as { port: number }).port : undefined), 'the receiver to listen');
  const parsed = () => out.all.slice(1).map((l) => JSON.parse(l) as Span & { refused?: string });
  const spans = () => parsed().filter((s) => !s.refused);
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    refused: () => parsed().filter((s) => s.refused).length,
    waitForSpans: (pred, what, timeoutMs) => out.waitFor(() => (pred(spans()) ? spans() : undefined), what, timeoutMs),
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}

export interface Marker {
  tid: number;
  ns: bigint;
  phase: 'B' | 'E' | 'S';
  callId: string;
  fn?: string;
}

export interface FunctionProcess {
  url: string;
  pid: number;
  dir: string;
  markers(): Marker[];
  stderr(): string[];
  stop(): Promise<void>;
}

/**
 * A temp folder laid out as `faas-cli build --shrinkwrap` lays the template out (or a copy of the
 * build folder `from`), with the given files in function/, its dependencies linked, and an empty
 * markers.log; the wrapper is not started.
 */
export function prepareFunction(lang: Lang, files: Record<string, string>, from = join(TEMPLATES, lang)): string {
  const dir = tempDir(`fp-tpl-${lang}-`);
  cpSync(from, dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'function', name), text);
  writeFileSync(join(dir, 'markers.log'), '');
  if (lang === 'node24-faasprov') {
    need(NODE_DEPS);
    symlinkSync(join(NODE_DEPS, 'node_modules'), join(dir, 'node_modules'));
  } else {
    need(PY_VENV);
    writeFileSync(join(dir, 'function', '__init__.py'), '');
  }
  return dir;
}

/**
 * Copies the template as `faas-cli build --shrinkwrap` lays it out (or a shrinkwrapped build folder,
 * `from`), puts the given files in function/, and starts the wrapper as of-watchdog would (fprocess,
 * in the build folder).
 */
export async function startFunction(lang: Lang, files: Record<string, string>, env: Record<string, string> = {}, from = join(TEMPLATES, lang)): Promise<FunctionProcess> {
  const dir = prepareFunction(lang, files, from);
  const markerLog = join(dir, 'markers.log');
  let child: ResultPromise;
  const baseEnv = { FAASPROV_MARKER_LOG: markerLog, http_port: '0', http_host: '127.0.0.1', ...env };
  if (lang === 'node24-faasprov') {
    child = execa(process.execPath, ['index.js'], { cwd: dir, env: baseEnv, reject: false });
  } else {
    child = execa(join(PY_VENV, 'bin', 'python'), ['index.py'], { cwd: dir, env: { ...baseEnv, PYTHONUNBUFFERED: '1' }, reject: false });
  }
  const out = new Lines(child.stdout!);
  const err = new Lines(child.stderr!);
  const port = await out.waitFor((l) => l.map((x) => /listening on port: (\d+)/.exec(x)?.[1]).find(Boolean), `${lang} to listen`).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\nstderr:\n${err.all.join('\n')}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dir,
    markers: () => readMarkers(markerLog),
    stderr: () => err.all,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await child;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readMarkers(file: string): Marker[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [tid, ns, text] = line.split('\t');
    const m = /^faasprov:([BES]):(\S+)(?: (\S+))?$/.exec(text!);
    if (!m) throw new Error(`not a marker: ${line}`);
    return { tid: Number(tid), ns: BigInt(ns!), phase: m[1] as Marker['phase'], callId: m[2]!, ...(m[3] ? { fn: m[3] } : {}) };
  });
}

export interface Echo {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/** A server that records each request's headers; with `tls`, a self-signed HTTPS one. */
export async function startEcho(tls = false): Promise<Echo> {
  const requests: Echo['requests'] = [];
  const onRequest = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.end('echo'));
  };
  let server: Server;
  if (tls) {
    const dir = tempDir('fp-tls-');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')]);
    server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, onRequest);
    rmSync(dir, { recursive: true, force: true });
  } else {
    server = createHttpServer(onRequest);
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A W3C traceparent with fresh random ids. */
export function newTraceparent(): { header: string; traceId: string; spanId: string } {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}
