import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Gateway } from './gateway.js';

interface Seen {
  replica: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];
let gateway: Gateway | undefined;

/** A replica: records each request; answers with the status `status(n)` gives for its n-th request. */
async function replica(id: number, seen: Seen[], status: (n: number) => number = () => 200): Promise<string> {
  let n = 0;
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ replica: id, method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(status(n++), { 'content-type': 'text/plain', 'x-replica': String(id) }).end(`from ${id}`);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

async function start(functions: { name: string; replicas: string[] }[], extra: Partial<ConstructorParameters<typeof Gateway>[0]> = {}) {
  const logs: string[] = [];
  gateway = new Gateway({ functions: functions.map((f) => ({ ...f, namespace: 'openfaas-fn' })), log: (l) => logs.push(l), ...extra });
  const a = await gateway.listen('127.0.0.1', 0);
  return { url: `http://127.0.0.1:${a.port}`, logs };
}

async function until(ok: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

afterEach(async () => {
  await gateway?.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('gateway', () => {
  it('forwards /function/NAME/PATH with method, body, query and headers, adds X-Call-Id and X-Start-Time, and round-robins', async () => {
    const seen: Seen[] = [];
    const { url } = await start([{ name: 'echo', replicas: [await replica(0, seen), await replica(1, seen)] }]);
    const r1 = await fetch(`${url}/function/echo/cart/add?item=3`, { method: 'PUT', body: 'hello', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-custom': 'kept' } });
    expect(r1.status).toBe(200);
    expect(await r1.text()).toBe('from 0');
    const r2 = await fetch(`${url}/function/echo.openfaas-fn`, { method: 'POST', body: 'b', headers: { 'x-call-id': 'client-chosen-id' } });
    expect(await r2.text()).toBe('from 1');
    expect(r2.headers.get('x-call-id')).toBe('client-chosen-id');
    expect(Number(r2.headers.get('x-duration-seconds'))).toBeGreaterThanOrEqual(0);

    expect(seen[0]).toMatchObject({ replica: 0, method: 'PUT', url: '/cart/add?item=3', body: 'hello' });
    expect(seen[0]!.headers['traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(seen[0]!.headers['x-custom']).toBe('kept');
    expect(seen[0]!.headers['x-call-id']).toBe(r1.headers.get('x-call-id'));
    expect(seen[0]!.headers['x-call-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    const startNs = BigInt(String(seen[0]!.headers['x-start-time']));
    expect(Number(startNs / 1_000_000n)).toBeGreaterThan(Date.now() - 60000);
    expect(seen[1]).toMatchObject({ replica: 1, url: '/', body: 'b' });
    expect(seen[1]!.headers['x-call-id']).toBe('client-chosen-id');
  });

  it('gives a call from an instance a call id of its own (the caller\'s travels as X-Faasprov-Caller-Call-Id) and says how the call came', async () => {
    const seen: Seen[] = [];
    const { url } = await start([{ name: 'echo', replicas: [await replica(0, seen)] }], { fromInstance: (a) => a === '127.0.0.1' });
    const r = await fetch(`${url}/function/echo`, { method: 'POST', body: 'x', headers: { 'x-call-id': 'the-callers-id', 'x-faasprov-trigger': 'timer' } });
    expect(r.headers.get('x-call-id')).not.toBe('the-callers-id');
    expect(seen[0]!.headers['x-call-id']).toBe(r.headers.get('x-call-id'));
    expect(seen[0]!.headers['x-faasprov-caller-call-id']).toBe('the-callers-id');
    expect(seen[0]!.headers['x-faasprov-trigger']).toBeUndefined();
    expect((await fetch(`${url}/async-function/echo`, { method: 'POST', body: 'y' })).status).toBe(202);
    await until(() => seen.length === 2);
    expect(seen[1]!.headers['x-faasprov-trigger']).toBe('pubsub');
  });

  it('answers 404 for an unknown function or namespace, and 502 when no replica answers', async () => {
    const { url } = await start([{ name: 'gone', replicas: ['127.0.0.1:1'] }]);
    expect((await fetch(`${url}/function/nope`)).status).toBe(404);
    expect((await fetch(`${url}/function/gone.other-ns`)).status).toBe(404);
    const r = await fetch(`${url}/function/gone`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(502);
    expect(r.headers.get('x-call-id')).toBeTruthy();
  });

  it('queues /async-function/NAME (202 with the call id) and retries a failed delivery with the same call id', async () => {
    const seen: Seen[] = [];
    const { url, logs } = await start([{ name: 'job', replicas: [await replica(0, seen, (n) => (n < 2 ? 503 : 200))] }]);
    const r = await fetch(`${url}/async-function/job/run`, { method: 'POST', body: 'payload', headers: { 'x-call-id': 'async-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(r.status).toBe(202);
    expect(r.headers.get('x-call-id')).toBe('async-1');
    await until(() => seen.length === 3);
    expect(seen.map((s) => [s.url, s.body, s.headers['x-call-id'], s.headers['traceparent']])).toEqual(Array(3).fill(['/run', 'payload', 'async-1', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']));
    expect(new Set(seen.map((s) => s.headers['x-start-time'])).size).toBe(1);
    await until(() => gateway!.stats.asyncDelivered === 1);
    expect(gateway!.stats).toMatchObject({ asyncQueued: 1, asyncRetried: 2, asyncDelivered: 1, asyncFailed: 0 });
    expect(logs.filter((l) => l.includes('retrying with the same call id'))).toHaveLength(2);
  });

  it('counts an async request that fails every attempt, and calls back with its status', async () => {
    const seen: Seen[] = [];
    const callbacks: Seen[] = [];
    const cb = await replica(9, callbacks);
    const { url } = await start([{ name: 'bad', replicas: [await replica(0, seen, () => 503)] }], { asyncAttempts: 2, callbackAllowed: (h) => h === '127.0.0.1' });
    const r = await fetch(`${url}/async-function/bad`, { method: 'POST', body: 'x', headers: { 'x-callback-url': `http://${cb}/done` } });
    expect(r.status).toBe(202);
    await until(() => callbacks.length === 1);
    expect(seen).toHaveLength(2);
    expect(callbacks[0]!.headers['x-function-status']).toBe('503');
    expect(callbacks[0]!.headers['x-call-id']).toBe(r.headers.get('x-call-id'));
    expect(gateway!.stats).toMatchObject({ asyncFailed: 1, asyncRetried: 1 });
    const refused = await fetch(`${url}/async-function/bad`, { method: 'POST', body: 'x', headers: { 'x-callback-url': 'http://192.0.2.1/elsewhere' } });
    expect(refused.status).toBe(400);
    expect(gateway!.stats.asyncRejected).toBe(1);
  });
});
