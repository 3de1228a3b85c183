/**
 * A small gateway of our own with the OpenFaaS gateway's routes: /function/NAME[/PATH] (sync) and
 * /async-function/NAME[/PATH] (queued in memory, delivered with retries that keep the call id).
 * Adds X-Call-Id and X-Start-Time, forwards the other headers (less hop-by-hop ones) with
 * X-Forwarded-For/-Host, and round-robins over a function's replicas.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

export interface GatewayFunction {
  name: string;
  namespace: string;
  /** host:port of each replica's watchdog. */
  replicas: string[];
}

export interface GatewayOptions {
  functions: GatewayFunction[];
  log: (line: string) => void;
  /** Deliveries of one async request, first included (OpenFaaS's queue-worker retries too). */
  asyncAttempts?: number;
  asyncWorkers?: number;
  asyncQueueMax?: number;
  /** Whether an X-Callback-Url may be called (only addresses the stack owns). */
  callbackAllowed?: (host: string) => boolean;
  /** Whether a request comes from one of the stack's instances (a function calling a function). */
  fromInstance?: (address: string) => boolean;
}

interface Queued {
  fn: GatewayFunction;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  callId: string;
  callback?: URL;
  attempt: number;
}

export interface GatewayStats {
  invocations: Record<string, number>;
  asyncQueued: number;
  asyncDelivered: number;
  asyncRetried: number;
  asyncFailed: number;
  asyncRejected: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const RETRY_STATUS = new Set([429, 502, 503, 504]);
const MAX_ASYNC_BODY = 16 << 20;

/** Nanoseconds since the epoch, as the OpenFaaS gateway writes X-Start-Time. */
const nowNs = () => (BigInt(Date.now()) * 1_000_000n).toString();

function forwardHeaders(h: IncomingHttpHeaders, req: IncomingMessage, callId: string, startTime: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  const client = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = h['x-forwarded-for'] ? `${String(h['x-forwarded-for'])}, ${client}` : client;
  if (h.host) out['x-forwarded-host'] = h.host;
  out['x-call-id'] = callId;
  out['x-start-time'] = startTime;
  return out;
}

export class Gateway {
  readonly stats: GatewayStats = { invocations: {}, asyncQueued: 0, asyncDelivered: 0, asyncRetried: 0, asyncFailed: 0, asyncRejected: 0 };
  private readonly byName = new Map<string, GatewayFunction>();
  private readonly next = new Map<string, number>();
  private readonly queue: Queued[] = [];
  private readonly servers: Server[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private busy = 0;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly attempts: number;
  private readonly workers: number;
  private readonly queueMax: number;

  constructor(private readonly o: GatewayOptions) {
    for (const f of o.functions) this.byName.set(f.name, f);
    this.attempts = o.asyncAttempts ?? 3;
    this.workers = o.asyncWorkers ?? 4;
    this.queueMax = o.asyncQueueMax ?? 10000;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => this.handle(req, res));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as { address: string; port: number };
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.queue.length > 0) this.o.log(`gateway: ${this.queue.length} queued async requests not delivered (stopping)`);
    this.stats.asyncFailed += this.queue.splice(0).length;
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
    this.agent.destroy();
  }

  private pick(fn: GatewayFunction): string {
    const i = this.next.get(fn.name) ?? 0;
    this.next.set(fn.name, i + 1);
    return fn.replicas[i % fn.replicas.length]!;
  }

  private lookup(raw: string): GatewayFunction | undefined {
    const dot = raw.indexOf('.');
    const name = dot < 0 ? raw : raw.slice(0, dot);
    const fn = this.byName.get(name);
    return fn && (dot < 0 || raw.slice(dot + 1) === fn.namespace) ? fn : undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    if (url.pathname === '/system/functions' && req.method === 'GET') {
      const list = [...this.byName.values()].map((f) => ({
        name: f.name, namespace: f.namespace, replicas: f.replicas.length, availableReplicas: f.replicas.length, invocationCount: this.stats.invocations[f.name] ?? 0,
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
      return;
    }
    const m = /^\/(function|async-function)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const fn = this.lookup(decodeURIComponent(m[2]!));
    if (!fn) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`error finding function ${m[2]}: not found`);
      return;
    }
    const path = (m[3] ?? '/') + url.search;
    const given = typeof req.headers['x-call-id'] === 'string' && req.headers['x-call-id'] !== '' ? req.headers['x-call-id'] : undefined;
    // The template shim forwards its own call id on every outgoing call; kept, it would make the
    // callee a second attempt of the caller. A call from an instance gets a call id of its own.
    const nested = given !== undefined && (this.o.fromInstance?.(req.socket.remoteAddress ?? '') ?? false);
    const callId = given !== undefined && !nested ? given : randomUUID();
    const startTime = typeof req.headers['x-start-time'] === 'string' && req.headers['x-start-time'] !== '' && !nested ? req.headers['x-start-time'] : nowNs();
    const headers = forwardHeaders(req.headers, req, callId, startTime);
    if (nested) headers['x-faasprov-caller-call-id'] = given;
    // The shim's faas.trigger: the gateway says how the call came, never the caller.
    if (m[1] === 'function') {
      delete headers['x-faasprov-trigger'];
      this.forward(fn, req, res, path, headers, callId);
    } else {
      headers['x-faasprov-trigger'] = 'pubsub';
      this.enqueue(fn, req, res, path, headers, callId);
    }
  }

  private forward(fn: GatewayFunction, req: IncomingMessage, res: ServerResponse, path: string, headers: OutgoingHttpHeaders, callId: string): void {
    this.stats.invocations[fn.name] = (this.stats.invocations[fn.name] ?? 0) + 1;
    const started = process.hrtime.bigint();
    const [host, port] = this.pick(fn).split(':');
    const up = request({ host, port: Number(port), method: req.method, path, headers, agent: this.agent }, (ur) => {
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
      out['x-call-id'] = callId;
      out['x-duration-seconds'] = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(6);
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain', 'x-call-id': callId });
      res.end(`error calling function ${fn.name}: ${err.message}`);
    });
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  }

  private enqueue(fn: GatewayFunction, req: IncomingMessage, res: ServerResponse, path: string, headers: OutgoingHttpHeaders, callId: string): void {
    const reject = (status: number, msg: string) => {
      this.stats.asyncRejected++;
      res.writeHead(status, { 'content-type': 'text/plain', 'x-call-id': callId }).end(msg);
    };
    let callback: URL | undefined;
    const cb = req.headers['x-callback-url'];
    if (typeof cb === 'string' && cb !== '') {
      try {
        callback = new URL(cb);
      } catch {
        return reject(400, 'X-Callback-Url is not a URL');
      }
      const host = callback.hostname.replace(/^\[|\]$/g, '');
      if (callback.protocol !== 'http:' || !isIP(host) || !(this.o.callbackAllowed?.(host) ?? false)) {
        return reject(400, 'X-Callback-Url must be http:// to loopback or to an address of this stack');
      }
    }
    if (this.queue.length >= this.queueMax) return reject(429, `async queue full (${this.queueMax})`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_ASYNC_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_ASYNC_BODY) return reject(413, `async request body over ${MAX_ASYNC_BODY} bytes`);
      delete headers['content-length'];
      delete headers['x-callback-url'];
      this.queue.push({ fn, method: req.method ?? 'POST', path, headers, body: Buffer.concat(chunks), callId, callback, attempt: 0 });
      this.stats.asyncQueued++;
      res.writeHead(202, { 'x-call-id': callId, 'content-length': '0' }).end();
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.busy < this.workers && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.busy++;
      void this.deliver(item).finally(() => {
        this.busy--;
        this.pump();
      });
    }
  }

  private async deliver(q: Queued): Promise<void> {
    q.attempt++;
    this.stats.invocations[q.fn.name] = (this.stats.invocations[q.fn.name] ?? 0) + 1;
    const started = process.hrtime.bigint();
    const result = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer } | Error>((resolve) => {
      const [host, port] = this.pick(q.fn).split(':');
      const up = request({ host, port: Number(port), method: q.method, path: q.path, headers: { ...q.headers, 'content-length': q.body.length }, agent: this.agent }, (ur) => {
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: Buffer.concat(chunks) }));
        ur.on('error', (e) => resolve(e));
      });
      up.on('error', (e) => resolve(e));
      up.end(q.body);
    });
    const retryable = result instanceof Error || RETRY_STATUS.has(result.status);
    if (retryable && q.attempt < this.attempts && !this.closed) {
      this.stats.asyncRetried++;
      const why = result instanceof Error ? result.message : `status ${result.status}`;
      this.o.log(`gateway: async ${q.fn.name} call ${q.callId} attempt ${q.attempt} failed (${why}); retrying with the same call id`);
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.queue.unshift(q);
        this.pump();
      }, 200 * 2 ** (q.attempt - 1));
      this.timers.add(t);
      return;
    }
    if (result instanceof Error || result.status >= 400) {
      this.stats.asyncFailed++;
      this.o.log(`gateway: async ${q.fn.name} call ${q.callId} failed after ${q.attempt} attempt(s): ${result instanceof Error ? result.message : `status ${result.status}`}`);
    } else {
      this.stats.asyncDelivered++;
    }
    if (q.callback) await this.callBack(q, result, started);
  }

  private async callBack(q: Queued, result: { status: number; headers: IncomingHttpHeaders; body: Buffer } | Error, started: bigint): Promise<void> {
    const body = result instanceof Error ? Buffer.from(result.message) : result.body;
    const headers: Record<string, string> = {
      'x-call-id': q.callId,
      'x-function-name': q.fn.name,
      'x-function-status': String(result instanceof Error ? 502 : result.status),
      'x-duration-seconds': (Number(process.hrtime.bigint() - started) / 1e9).toFixed(6),
    };
    if (!(result instanceof Error) && result.headers['content-type']) headers['content-type'] = String(result.headers['content-type']);
    try {
      await fetch(q.callback!, { method: 'POST', headers, body });
    } catch (err) {
      this.o.log(`gateway: callback for call ${q.callId} to ${q.callback!.href} failed: ${(err as Error).message}`);
    }
  }
}
