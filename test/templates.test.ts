// The faasprov OpenFaaS templates' shims, on their real wrapper servers (node: express and the
// OpenTelemetry Node SDK; python: Flask on the template's keep-alive server.py and the OpenTelemetry
// Python SDK), with a real OTLP/HTTP receiver decoding what they export.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, tempDir } from './helpers.js';
import { ensureOpenfaasTools, faasCli, OF_WATCHDOG } from './openfaas-harness.js';
import { newTraceparent, prepareFunction, PY_VENV, readMarkers, startEcho, startFunction, startReceiver, type Echo, type FunctionProcess, type Lang, type Marker, type Receiver, type Span } from './template-harness.js';

const SERVER = 2; // OTLP SpanKind
const CLIENT = 3;

/** Per language: a handler that reports where and when it ran, and one that calls out. */
const HANDLERS: Record<Lang, { timed: Record<string, string>; calls: Record<string, string> }> = {
  'node24-faasprov': {
    timed: {
      'handler.js': `'use strict'
module.exports = async (event, context) => {
  await new Promise((r) => setTimeout(r, Number(event.query.sleep || 0)))
  return context.status(200).succeed({ tid: process.pid, endNs: process.hrtime.bigint().toString(), body: String(event.body), callId: event.headers['x-call-id'] })
}
`,
    },
    calls: {
      'handler.js': `'use strict'
const http = require('node:http')
const https = require('node:https')
const get = (mod, url, opts = {}) => new Promise((resolve, reject) => {
  mod.get(url, opts, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject)
})
module.exports = async (event, context) => {
  const to = event.body
  await get(http, to.http + '/http')
  await get(https, to.https + '/https', { rejectUnauthorized: false })
  await (await fetch(to.http + '/fetch')).text()
  return context.status(200).succeed({ ok: true })
}
`,
    },
  },
  'python3-http-faasprov': {
    timed: {
      'handler.py': `import json, threading, time
def handle(event, context):
    time.sleep(int(event.query.get('sleep', '0')) / 1000)
    return {"statusCode": 200, "body": {"tid": threading.get_native_id(), "endNs": str(time.monotonic_ns()), "body": event.body.decode(), "callId": event.headers.get('X-Call-Id')}}
`,
    },
    calls: {
      'handler.py': `import json, threading, urllib.request
import requests
def handle(event, context):
    to = json.loads(event.body)
    urllib.request.urlopen(to['http'] + '/urllib').read()
    requests.get(to['http'] + '/requests').text
    # A thread of the handler's own: its call still belongs to the invocation.
    t = threading.Thread(target=lambda: requests.get(to['http'] + '/thread').text)
    t.start()
    t.join()
    return {"statusCode": 200, "body": {"ok": True}}
`,
    },
  },
};

interface Timed { tid: number; endNs: string; body: string; callId: string }

/** A POST whose body is sent `delayMs` after its headers; resolves with when the body went out. */
function slowPost(url: string, body: string, headers: Record<string, string>, delayMs: number): Promise<{ status: number; headers: Record<string, unknown>; json: Timed; bodySentNs: bigint }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) as Timed, bodySentNs }));
    });
    req.on('error', reject);
    req.flushHeaders();
    let bodySentNs = 0n;
    setTimeout(() => {
      bodySentNs = process.hrtime.bigint();
      req.end(body);
    }, delayMs);
  });
}

const pairsOf = (markers: Marker[], callId: string) => markers.filter((m) => m.callId === callId);

/** The end marker follows the response, so a client can hold the response a moment before it. */
async function settledMarkers(fn: FunctionProcess, callIds: string[]): Promise<Marker[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const markers = fn.markers();
    if (callIds.every((id) => markers.some((m) => m.callId === id && m.phase === 'E')) || Date.now() > until) return markers;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(['node24-faasprov', 'python3-http-faasprov'] as Lang[])('template %s', (lang) => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('writes the begin marker on the serving thread before the body is read, the end marker after the response', async () => {
    const fn = await startFunction(lang, HANDLERS[lang].timed, { FAASPROV_FUNCTION: 'timed-fn', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const given = await slowPost(`${fn.url}/?sleep=0`, 'late body', { 'X-Call-Id': 'call-given-1' }, 400);
      expect(given.status).toBe(200);
      expect(given.json.body).toBe('late body');
      expect(given.json.callId).toBe('call-given-1');
      expect(given.headers['x-call-id']).toBe('call-given-1');

      // The body waits long enough for a loaded machine to have read the headers (and written the begin marker) first.
      const minted = await slowPost(`${fn.url}/`, 'no id', {}, 400);
      const mintedId = minted.headers['x-call-id'] as string;
      expect(mintedId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(minted.json.callId).toBe(mintedId);

      const markers = await settledMarkers(fn, ['call-given-1', mintedId]);
      for (const [r, id] of [[given, 'call-given-1'], [minted, mintedId]] as const) {
        const mine = pairsOf(markers, id);
        expect(mine.map((m) => m.phase)).toEqual(['B', 'E']);
        const [b, e] = mine as [Marker, Marker];
        expect(b.fn).toBe('timed-fn');
        // Both on the thread that ran the handler (node: the event loop, whose id is the pid).
        expect(b.tid).toBe(r.json.tid);
        expect(e.tid).toBe(r.json.tid);
        expect(b.ns).toBeLessThan(r.bodySentNs);
        expect(e.ns).toBeGreaterThan(BigInt(r.json.endNs));
      }
      if (lang === 'node24-faasprov') expect(given.json.tid).toBe(fn.pid);
      else expect(given.json.tid).not.toBe(fn.pid); // a connection thread, not the main one
      // A call id the agent could not take is replaced, never passed on.
      const bad = await slowPost(`${fn.url}/`, 'x', { 'X-Call-Id': 'has space' }, 0);
      expect(bad.headers['x-call-id']).not.toBe('has space');
      expect(pairsOf(await settledMarkers(fn, [bad.headers['x-call-id'] as string]), bad.headers['x-call-id'] as string)).toHaveLength(2);
      expect(fn.markers().some((m) => m.callId.includes('has'))).toBe(false);
    } finally {
      await fn.stop();
    }
  });

  it('forwards X-Call-Id and traceparent on outgoing calls and exports linked spans with the FaaS conventions', async () => {
    const echo: Echo = await startEcho();
    const tlsEcho: Echo = await startEcho(true);
    const fn = await startFunction(lang, HANDLERS[lang].calls, { FAASPROV_FUNCTION: 'caller-fn', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const call = async (id: string) => {
        const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': id, traceparent: tp.header }, body: JSON.stringify({ http: echo.url, https: tlsEcho.url }) });
        expect(r.status).toBe(200);
        await r.text();
      };
      await call('fwd-1');
      await call('fwd-2');
      const outgoing = [...echo.requests, ...tlsEcho.requests];
      const paths = lang === 'node24-faasprov' ? ['/http', '/https', '/fetch'] : ['/urllib', '/requests', '/thread'];
      expect(outgoing.map((r) => r.path).sort()).toEqual([...paths, ...paths].sort());
      for (const r of outgoing) {
        expect(['fwd-1', 'fwd-2']).toContain(r.headers['x-call-id']);
        expect(String(r.headers.traceparent)).toMatch(new RegExp(`^00-${tp.traceId}-[0-9a-f]{16}-01$`));
      }
      expect(outgoing.filter((r) => r.headers['x-call-id'] === 'fwd-1')).toHaveLength(paths.length);

      const spans = await receiver.waitForSpans(
        (s) => s.filter((x) => x.traceId === tp.traceId).length >= 2 * (1 + paths.length),
        'the server and client spans of both calls',
      );
      const ours = spans.filter((x) => x.traceId === tp.traceId);
      const servers = ours.filter((s) => s.kind === SERVER);
      expect(servers).toHaveLength(2);
      const byId = new Map(servers.map((s) => [s.attributes['faas.invocation_id'] as string, s]));
      const first = byId.get('fwd-1')!;
      const second = byId.get('fwd-2')!;
      for (const s of [first, second]) {
        expect(s.parentSpanId).toBe(tp.spanId);
        expect(s.attributes['faas.trigger']).toBe('http');
        expect(s.attributes['faas.name']).toBe('caller-fn');
        expect(s.resource['service.name']).toBe('caller-fn');
        expect(s.path).toBe('/v1/traces');
        expect(s.contentType).toBe('application/x-protobuf');
      }
      expect(first.attributes['faas.coldstart']).toBe(true);
      expect(second.attributes['faas.coldstart']).toBe(false);
      // Each outgoing request's traceparent names a client span of the invocation that made it.
      const clients = new Map(ours.filter((s) => s.kind === CLIENT).map((s) => [s.spanId, s]));
      for (const r of outgoing) {
        const parentId = String(r.headers.traceparent).split('-')[2]!;
        const client = clients.get(parentId) as Span;
        expect(client).toBeDefined();
        expect(client.parentSpanId).toBe(byId.get(r.headers['x-call-id'] as string)!.spanId);
      }
    } finally {
      await fn.stop();
      await echo.stop();
      await tlsEcho.stop();
    }
  });

  it('runs as the plain template with FAASPROV_SHIM=off: no markers, spans or forwarded call id', async () => {
    const echo = await startEcho();
    const tlsEcho = await startEcho(true);
    // A short export delay, so that 1.5 s below are five export periods of a shim that would export.
    const fn = await startFunction(lang, HANDLERS[lang].calls, { FAASPROV_SHIM: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '300' });
    try {
      const before = receiver.spans().length;
      const tp = newTraceparent();
      const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': 'plain-1', traceparent: tp.header }, body: JSON.stringify({ http: echo.url, https: tlsEcho.url }) });
      expect(r.status).toBe(200);
      await r.text();
      expect(r.headers.get('x-call-id')).toBeNull();
      const outgoing = [...echo.requests, ...tlsEcho.requests];
      expect(outgoing.length).toBeGreaterThan(0);
      for (const o of outgoing) {
        expect(o.headers['x-call-id']).toBeUndefined();
        expect(o.headers.traceparent).toBeUndefined();
      }
      await new Promise((res) => setTimeout(res, 1500)); // five export periods
      expect(receiver.spans().slice(before).filter((x) => x.traceId === tp.traceId)).toEqual([]);
      expect(fn.markers()).toEqual([]);
    } finally {
      await fn.stop();
      await echo.stop();
      await tlsEcho.stop();
    }
  });

  it('exports every OTEL_BSP_SCHEDULE_DELAY ms, 2000 by default; a bad value is said once and the default taken', async () => {
    // The time from a response to its span at the receiver, for one request per setting.
    const lag = async (env: Record<string, string>, id: string): Promise<{ ms: number; stderr: string[] }> => {
      const fn = await startFunction(lang, HANDLERS[lang].timed, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
      try {
        // The first request starts the exporter's clock; the measured one follows a second later.
        const warm = await slowPost(`${fn.url}/`, 'warm', { 'X-Call-Id': `${id}-warm` }, 0);
        expect(warm.status).toBe(200);
        await receiver.waitForSpans((s) => s.some((x) => x.attributes['faas.invocation_id'] === `${id}-warm`), `${id}'s first span`);
        const r = await slowPost(`${fn.url}/`, 'req', { 'X-Call-Id': id }, 0);
        expect(r.status).toBe(200);
        const t0 = Date.now();
        await receiver.waitForSpans((s) => s.some((x) => x.attributes['faas.invocation_id'] === id), `${id}'s span`);
        return { ms: Date.now() - t0, stderr: fn.stderr() };
      } finally {
        await fn.stop();
      }
    };
    const fast = await lag({ OTEL_BSP_SCHEDULE_DELAY: '200' }, `delay-200-${lang}`);
    expect(fast.ms).toBeLessThan(1000);
    const byDefault = await lag({}, `delay-default-${lang}`);
    expect(byDefault.ms).toBeGreaterThan(1000);
    expect(byDefault.ms).toBeLessThan(4000);
    const bad = await lag({ OTEL_BSP_SCHEDULE_DELAY: 'soon' }, `delay-bad-${lang}`);
    expect(bad.ms).toBeGreaterThan(1000);
    expect(bad.stderr.filter((l) => l.includes('OTEL_BSP_SCHEDULE_DELAY="soon"') || l.includes("OTEL_BSP_SCHEDULE_DELAY='soon'"))).toHaveLength(1);
  }, 60000);

  it.each([['absent', false], ['broken', true]])('keeps serving when the agent is %s: one warning, then quiet', async (_what, broken) => {
    const bad = broken ? await startReceiver({ fail: true }) : undefined;
    // Port 9 (discard) is closed on these machines: nothing listens there.
    const fn = await startFunction(lang, HANDLERS[lang].timed, { OTEL_EXPORTER_OTLP_ENDPOINT: bad?.url ?? 'http://127.0.0.1:9' });
    try {
      for (let i = 0; i < 4; i++) {
        const r = await slowPost(`${fn.url}/`, `req ${i}`, { 'X-Call-Id': `down-${i}` }, 0);
        expect(r.status).toBe(200);
        await new Promise((res) => setTimeout(res, 400)); // the exporter runs every 500 ms
      }
      const warn = (lines: string[]) => lines.filter((l) => l.startsWith('faasprov: cannot send spans'));
      const lines = await (async () => {
        const until = Date.now() + 10000;
        while (warn(fn.stderr()).length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
        return fn.stderr();
      })();
      expect(warn(lines)).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('faasprov:'))).toHaveLength(1);
      if (bad) expect(bad.refused()).toBeGreaterThanOrEqual(1);
      expect(pairsOf(await settledMarkers(fn, ['down-3']), 'down-3').map((m) => m.phase)).toEqual(['B', 'E']);
    } finally {
      await fn.stop();
      await bad?.stop();
    }
  });
});

/**
 * A node handler that decorates its span and calls out, with an extra span processor on the SDK
 * (what a user could add) that notes when each span is created (onStart) and what the SDK hands the
 * exporter (onEnd). `?throw=1` makes that processor's onStart throw from then on; `?slow=MS` makes it
 * busy-wait that long once per span (replays then run long after the response).
 */
const DEFERRED_HANDLER = `'use strict'
const api = require('@opentelemetry/api')
const started = []
const ended = []
let throwing = false
let slowMs = 0
const ms = (t) => t[0] * 1e3 + t[1] / 1e6
api.trace.getTracerProvider().getDelegate()._activeSpanProcessor._spanProcessors.push({
  onStart (span) {
    started.push({ spanId: span.spanContext().spanId, ns: String(process.hrtime.bigint()), wallMs: Date.now() })
    if (throwing) throw new Error('processor refuses')
    const until = Date.now() + slowMs
    while (Date.now() < until);
  },
  onEnd (span) {
    ended.push({ name: span.name, kind: span.kind, spanId: span.spanContext().spanId, parentSpanId: span.parentSpanContext && span.parentSpanContext.spanId,
      startMs: ms(span.startTime), endMs: ms(span.endTime), status: span.status, attributes: span.attributes,
      events: span.events.map((e) => ({ name: e.name, ms: ms(e.time), attributes: e.attributes })) })
  },
  forceFlush: async () => {},
  shutdown: async () => {}
})
module.exports = async (event, context) => {
  if (event.query.report) return context.status(200).succeed({ started, ended })
  throwing = !!event.query.throw
  slowMs = Number(event.query.slow || 0)
  const span = api.trace.getActiveSpan()
  // A call the handler does not wait for: it ends after the response, outside any invocation.
  if (event.query.late) setTimeout(() => fetch(event.body.echo + '/late').then((r) => r.text()), 300)
  const enteredMs = Date.now()
  span.setAttribute('shop.order', 'o-' + event.headers['x-call-id'])
  span.setAttributes({ 'shop.qty': 2, 'shop.items': 'mug,cap' })
  span.addEvent('priced', { 'shop.price': 12.5 })
  const r = await fetch(event.body.echo + '/priced')
  await r.text()
  span.recordException(new Error('card declined'))
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: 'declined' })
  span.updateName('checkout-renamed')
  return context.status(200).succeed({ enteredMs, leftMs: Date.now(), recording: span.isRecording(), spanId: span.spanContext().spanId })
}
`;

interface Recorded { name: string; kind: number; spanId: string; parentSpanId?: string; startMs: number; endMs: number; status: { code: number; message?: string }; attributes: Record<string, unknown>; events: { name: string; ms: number; attributes: Record<string, unknown> }[] }
interface Report { started: { spanId: string; ns: string; wallMs: number }[]; ended: Recorded[] }

describe('template node24-faasprov, deferred spans', () => {
  let receiver: Receiver;
  let echo: Echo;
  beforeAll(async () => {
    receiver = await startReceiver();
    echo = await startEcho();
  });
  afterAll(async () => {
    await echo?.stop();
    await receiver?.stop();
  });

  const post = async (fn: FunctionProcess, query: string, callId: string, traceparent: string) => {
    const sentMs = Date.now();
    const r = await fetch(`${fn.url}/?${query}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': callId, traceparent }, body: JSON.stringify({ echo: echo.url }) });
    expect(r.status).toBe(200);
    const json = (await r.json()) as { enteredMs: number; leftMs: number; recording: boolean; spanId: string };
    return { ...json, sentMs, receivedMs: Date.now() };
  };
  const report = async (fn: FunctionProcess, until: (r: Report) => boolean): Promise<Report> => {
    const deadline = Date.now() + 15000;
    for (;;) {
      const r = (await (await fetch(`${fn.url}/?report=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as Report;
      if (until(r) || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  it("exports what the handler did to its span, and the fetch's client span as parent of the outgoing traceparent, with the request's times, all created after the response was written", async () => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': DEFERRED_HANDLER }, { FAASPROV_FUNCTION: 'deferred-fn', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      // The processor busy-waits 300 ms per span: replays run long after the response, so times
      // taken at replay would be far from the request's.
      const res = await post(fn, 'slow=300', 'deferred-1', tp.header);
      expect(res.recording).toBe(true);
      const r = await report(fn, (x) => x.ended.filter((s) => s.spanId === res.spanId).length === 1);
      const server = r.ended.find((s) => s.spanId === res.spanId)!;
      expect(server).toBeDefined();
      expect(server.kind).toBe(1); // api SpanKind.SERVER
      expect(server.parentSpanId).toBe(tp.spanId);
      expect(server.name).toBe('checkout-renamed');
      expect(server.status).toEqual({ code: 2, message: 'declined' });
      expect(server.attributes).toMatchObject({ 'shop.order': 'o-deferred-1', 'shop.qty': 2, 'shop.items': 'mug,cap', 'faas.invocation_id': 'deferred-1', 'http.response.status_code': 200 });
      expect(server.events.map((e) => e.name)).toEqual(['priced', 'exception']);
      expect(server.events[0]!.attributes).toEqual({ 'shop.price': 12.5 });
      expect(server.events[1]!.attributes['exception.message']).toBe('card declined');

      // The fetch: its client span is the parent named in the request's traceparent, and a child of the server span.
      const out = echo.requests.filter((x) => x.headers['x-call-id'] === 'deferred-1');
      expect(out).toHaveLength(1);
      const [, traceId, parentId, flags] = String(out[0]!.headers.traceparent).split('-');
      expect([traceId, flags]).toEqual([tp.traceId, '01']);
      const client = r.ended.find((s) => s.spanId === parentId)!;
      expect(client).toBeDefined();
      expect(client.kind).toBe(2); // api SpanKind.CLIENT
      expect(client.parentSpanId).toBe(server.spanId);
      expect(client.attributes['url.path']).toBe('/priced');

      // Times are the request's, not the replay's, which began after the response. Tolerance 2 ms:
      // the SDK takes wall-clock milliseconds at a span's start and monotonic time after that.
      const replayMs = Math.min(...r.started.filter((s) => [server.spanId, client.spanId].includes(s.spanId)).map((s) => s.wallMs));
      expect(replayMs).toBeGreaterThanOrEqual(res.leftMs);
      expect(server.startMs).toBeGreaterThanOrEqual(res.sentMs - 2);
      expect(server.startMs).toBeLessThanOrEqual(res.enteredMs + 2);
      expect(server.endMs).toBeGreaterThanOrEqual(res.leftMs - 2);
      expect(server.endMs).toBeLessThanOrEqual(res.receivedMs + 2);
      expect(client.startMs).toBeGreaterThanOrEqual(res.enteredMs - 2);
      expect(client.endMs).toBeLessThanOrEqual(res.leftMs + 2);
      for (const e of server.events) expect(e.ms).toBeGreaterThanOrEqual(res.enteredMs - 2);
      expect(server.events[1]!.ms).toBeLessThanOrEqual(res.leftMs + 2);
      // The processor waits 300 ms per span before the next replay: times taken then would be late.
      expect(server.endMs).toBeLessThan(replayMs + 250);

      // Nothing was created before the response was written: every onStart of this invocation's
      // spans came after its end marker, which the shim writes on the response's 'finish'.
      const markers = await settledMarkers(fn, ['deferred-1']);
      const end = markers.find((m) => m.callId === 'deferred-1' && m.phase === 'E')!;
      const starts = r.started.filter((s) => [server.spanId, client.spanId].includes(s.spanId));
      expect(starts).toHaveLength(2);
      for (const s of starts) expect(BigInt(s.ns)).toBeGreaterThan(end.ns);

      // And the exporter sent them: the server span with the handler's attributes, the client span under it.
      const spans = await receiver.waitForSpans((s) => [server.spanId, client.spanId].every((id) => s.some((x) => x.spanId === id)), 'the deferred spans');
      const exported = spans.filter((x) => x.traceId === tp.traceId);
      const exportedServer = exported.find((x) => x.spanId === server.spanId)!;
      expect(exportedServer.name).toBe('checkout-renamed');
      expect(exportedServer.attributes).toMatchObject({ 'shop.order': 'o-deferred-1', 'shop.qty': 2, 'faas.name': 'deferred-fn' });
      expect(exportedServer.status).toEqual({ code: 2, message: 'declined' }); // OTLP STATUS_CODE_ERROR
      expect(exportedServer.events.map((e) => e.name)).toEqual(['priced', 'exception']);
      // The exported times are what the processor saw (to the millisecond: OTLP carries nanoseconds).
      const nsMs = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;
      expect(Math.abs(nsMs(exportedServer.startNs) - server.startMs)).toBeLessThan(0.01);
      expect(Math.abs(nsMs(exportedServer.endNs) - server.endMs)).toBeLessThan(0.01);
      expect(exported.find((x) => x.spanId === client.spanId)!.parentSpanId).toBe(server.spanId);
    } finally {
      await fn.stop();
    }
  });

  it('exports a client span that ends after the response (a call the handler did not wait for) under the server span', async () => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': DEFERRED_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const res = await post(fn, 'late=1', 'late-1', tp.header);
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.traceId === tp.traceId && x.attributes['url.path'] === '/late'), 'the late client span');
      const late = spans.find((x) => x.traceId === tp.traceId && x.attributes['url.path'] === '/late')!;
      expect(late.parentSpanId).toBe(res.spanId);
      expect(late.kind).toBe(CLIENT);
      // Its request named it as parent and carried the invocation's call id.
      const out = echo.requests.find((x) => x.path === '/late' && x.headers['x-call-id'] === 'late-1')!;
      expect(String(out.headers.traceparent)).toBe(`00-${tp.traceId}-${late.spanId}-01`);
      // It began after the response was received.
      expect(Number(BigInt(late.startNs) / 1000000n)).toBeGreaterThanOrEqual(res.receivedMs - 2);
    } finally {
      await fn.stop();
    }
  });

  it("replays a burst's spans in a batch and the rest by the idle timer, and exports every one under its own request", async () => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': DEFERRED_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const sent: { tp: ReturnType<typeof newTraceparent>; res: Awaited<ReturnType<typeof post>> }[] = [];
      for (let i = 0; i < 30; i++) {
        const tp = newTraceparent();
        sent.push({ tp, res: await post(fn, '', `burst-${i}`, tp.header) });
      }
      // 60 spans (a server and a fetch's client span per request): 48 replayed together once they
      // waited (unless a pause of 200 ms between requests let the idle timer go first), the other
      // 12 by the idle timer. None is lost at the boundary, none created before its response.
      const r = await report(fn, (x) => sent.every(({ res }) => x.ended.some((s) => s.spanId === res.spanId)));
      for (const { res } of sent) expect(r.started.find((s) => s.spanId === res.spanId)!.wallMs).toBeGreaterThanOrEqual(res.leftMs);
      const spans = await receiver.waitForSpans((s) => sent.every(({ tp }) => s.filter((x) => x.traceId === tp.traceId).length === 2), 'the burst\'s spans');
      for (const { tp, res } of sent) {
        const mine = spans.filter((x) => x.traceId === tp.traceId);
        const server = mine.find((x) => x.kind === SERVER)!;
        expect(server.spanId).toBe(res.spanId);
        expect(server.parentSpanId).toBe(tp.spanId);
        expect(mine.find((x) => x.kind === CLIENT)!.parentSpanId).toBe(res.spanId);
      }
    } finally {
      await fn.stop();
    }
  });

  it('a parent that says "not sampled": propagation only, no span recorded or exported', async () => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': DEFERRED_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const res = await post(fn, '', 'unsampled-1', `00-${tp.traceId}-${tp.spanId}-00`);
      expect(res.recording).toBe(false);
      const out = echo.requests.find((x) => x.headers['x-call-id'] === 'unsampled-1')!;
      expect(String(out.headers.traceparent)).toMatch(new RegExp(`^00-${tp.traceId}-[0-9a-f]{16}-00$`));
      // A sampled request after it is exported; the unsampled one's trace never is.
      const sampled = newTraceparent();
      await post(fn, '', 'sampled-1', sampled.header);
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.traceId === sampled.traceId && x.kind === SERVER), 'the sampled request\'s server span');
      expect(spans.filter((x) => x.traceId === tp.traceId)).toEqual([]);
    } finally {
      await fn.stop();
    }
  });

  it('counts a failed replay and says so once; the function keeps answering', async () => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': DEFERRED_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    let stopped = false;
    try {
      for (let i = 0; i < 3; i++) {
        const tp = newTraceparent();
        const res = await post(fn, 'throw=1', `replay-fail-${i}`, tp.header);
        expect(res.recording).toBe(true);
      }
      const said = (lines: string[]) => lines.filter((l) => l.startsWith('faasprov: recording a span on the OpenTelemetry SDK failed'));
      const until = Date.now() + 10000;
      while (said(fn.stderr()).length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
      expect(said(fn.stderr())).toHaveLength(1);
      expect(said(fn.stderr())[0]).toContain('processor refuses');
      await fn.stop();
      stopped = true;
      // Each request's server and client span: 6 lost, counted, and the count said at shutdown.
      expect(fn.stderr().filter((l) => l.includes('spans were lost before the SDK'))).toEqual(['faasprov: 6 spans were lost before the SDK (6 failed replays, 0 over the queue\'s bound)']);
      expect(said(fn.stderr())).toHaveLength(1);
    } finally {
      if (!stopped) await fn.stop();
    }
  });
});

/**
 * A node handler that makes three fetches (a GET with a query, a POST with its own user agent, one to
 * a closed port) and reports the client spans the SDK handed its processors, with their scope. With
 * EARLY_URL set, it also fetches at load time, outside any request.
 */
const FETCH_HANDLER = `'use strict'
const api = require('@opentelemetry/api')
const ended = []
const ms = (t) => t[0] * 1e3 + t[1] / 1e6
api.trace.getTracerProvider().getDelegate()._activeSpanProcessor._spanProcessors.push({
  onStart () {},
  onEnd (span) {
    if (span.kind !== api.SpanKind.CLIENT) return
    ended.push({ name: span.name, kind: span.kind, spanId: span.spanContext().spanId, traceId: span.spanContext().traceId,
      parentSpanId: span.parentSpanContext && span.parentSpanContext.spanId, scope: span.instrumentationScope,
      startMs: ms(span.startTime), endMs: ms(span.endTime), status: span.status, attributes: span.attributes,
      events: span.events.map((e) => ({ name: e.name, ms: ms(e.time), attributes: e.attributes })) })
  },
  forceFlush: async () => {},
  shutdown: async () => {}
})
if (process.env.EARLY_URL) fetch(process.env.EARLY_URL + '/early').then((r) => r.text())
module.exports = async (event, context) => {
  if (event.query.report) return context.status(200).succeed({ ended })
  const to = event.body
  const enteredMs = Date.now()
  await (await fetch(to.echo + '/q/a?x=1&y=two')).text()
  await (await fetch(to.echo + '/post', { method: 'POST', headers: { 'user-agent': 'shop/1.0' }, body: 'b' })).text()
  let refused
  try { await fetch(to.refused + '/down') } catch (err) { refused = err.cause && err.cause.code }
  return context.status(200).succeed({ enteredMs, leftMs: Date.now(), refused, spanId: api.trace.getActiveSpan().spanContext().spanId })
}
`;

type Mode = 'lean' | 'official';
type Reported = Recorded & { traceId: string; scope: { name: string; version?: string } };
interface FetchRun {
  tp: ReturnType<typeof newTraceparent>;
  callId: string;
  res: { enteredMs: number; leftMs: number; refused: string; spanId: string };
  clients: Reported[];
  early: Reported;
  outgoing: Echo['requests'];
  exported: Span[];
  stderr: string[];
}

describe('template node24-faasprov, fetch tracing (FAASPROV_FETCH_TRACING lean and official)', () => {
  let receiver: Receiver;
  let echo: Echo;
  let refusedUrl: string;
  const runs: Partial<Record<Mode, FetchRun>> = {};
  beforeAll(async () => {
    receiver = await startReceiver();
    echo = await startEcho();
    // A port nothing listens on: bound, then closed.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    refusedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    await echo?.stop();
    await receiver?.stop();
  });

  const paths = ['/q/a?x=1&y=two', '/post', '/down'];
  const byPath = <T extends { attributes: Record<string, unknown> }>(spans: T[], p: string): T | undefined => spans.find((s) => `${String(s.attributes['url.path'])}${String(s.attributes['url.query'])}` === p);

  const run = async (mode: Mode | 'bogus'): Promise<FetchRun> => {
    const fn = await startFunction('node24-faasprov', { 'handler.js': FETCH_HANDLER }, { FAASPROV_FETCH_TRACING: mode, EARLY_URL: `${echo.url}/${mode}`, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const callId = `fetch-${mode}`;
      const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': callId, traceparent: tp.header }, body: JSON.stringify({ echo: echo.url, refused: refusedUrl }) });
      expect(r.status).toBe(200);
      const res = (await r.json()) as FetchRun['res'];
      const deadline = Date.now() + 15000;
      let ended: Reported[] = [];
      for (;;) {
        ended = ((await (await fetch(`${fn.url}/?report=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { ended: Reported[] }).ended;
        if (ended.length >= 4 || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const clients = ended.filter((s) => s.traceId === tp.traceId);
      const early = ended.find((s) => s.attributes['url.path'] === `/${mode}/early`)!;
      const ids = [...clients, early].filter(Boolean).map((s) => s.spanId);
      const exported = await receiver.waitForSpans((s) => ids.every((id) => s.some((x) => x.spanId === id)), `the ${mode} client spans`);
      return { tp, callId, res, clients, early, outgoing: echo.requests.filter((x) => x.headers['x-call-id'] === callId || x.path === `/${mode}/early`), exported: exported.filter((x) => ids.includes(x.spanId)), stderr: fn.stderr() };
    } finally {
      await fn.stop();
    }
  };

  it.each(['lean', 'official'] as Mode[])('%s: each fetch carries one traceparent naming its client span, and X-Call-Id; the spans are children of the server span, errors included', async (mode) => {
    const got = await run(mode);
    runs[mode] = got;
    const { tp, callId, res, clients, outgoing } = got;
    expect(res.refused).toBe('ECONNREFUSED');
    expect(clients).toHaveLength(3);
    for (const p of paths.slice(0, 2)) {
      const out = outgoing.filter((x) => x.path === p);
      expect(out).toHaveLength(1);
      // One header each: a second tracer injecting too would make them "a, b".
      expect(out[0]!.headers['x-call-id']).toBe(callId);
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(out[0]!.headers.traceparent));
      expect(m).not.toBeNull();
      expect(m![1]).toBe(tp.traceId);
      const client = byPath(clients, p)!;
      expect(client.spanId).toBe(m![2]);
      expect(client.parentSpanId).toBe(res.spanId);
      expect(client.kind).toBe(2); // api SpanKind.CLIENT
      expect(client.scope.name).toBe('@opentelemetry/instrumentation-undici');
      expect(client.status).toEqual({ code: 0 });
      expect(client.startMs).toBeGreaterThanOrEqual(res.enteredMs - 2);
      expect(client.endMs).toBeGreaterThanOrEqual(client.startMs);
      expect(client.endMs).toBeLessThanOrEqual(res.leftMs + 2);
    }
    const port = Number(new URL(echo.url).port);
    expect(byPath(clients, paths[0]!)!.attributes).toEqual({
      'http.request.method': 'GET', 'http.request.method_original': 'GET', 'url.full': `${echo.url}/q/a?x=1&y=two`, 'url.path': '/q/a', 'url.query': '?x=1&y=two', 'url.scheme': 'http',
      'server.address': '127.0.0.1', 'server.port': port, 'user_agent.original': 'node',
      'network.peer.address': '127.0.0.1', 'network.peer.port': port, 'network.protocol.version': '1.1', 'http.response.status_code': 200,
    });
    expect(byPath(clients, paths[1]!)!.attributes).toMatchObject({ 'http.request.method': 'POST', 'user_agent.original': 'shop/1.0', 'url.query': '' });
    // Connection refused: error.type, the exception, ERROR status; no peer, no status code.
    const down = byPath(clients, paths[2]!)!;
    expect(down.parentSpanId).toBe(res.spanId);
    expect(down.attributes['error.type']).toBe('ECONNREFUSED');
    expect(down.attributes['http.response.status_code']).toBeUndefined();
    expect(down.attributes['network.peer.address']).toBeUndefined();
    expect(down.status.code).toBe(2);
    expect(down.status.message).toContain('ECONNREFUSED');
    expect(down.events.map((e) => e.name)).toEqual(['exception']);
    expect(down.events[0]!.attributes['exception.type']).toBe('ECONNREFUSED');
    expect(down.events[0]!.ms).toBeGreaterThanOrEqual(down.startMs);
    expect(down.events[0]!.ms).toBeLessThanOrEqual(down.endMs);
    // And the exporter sent them, under the server span.
    for (const c of clients) {
      const x = got.exported.find((s) => s.spanId === c.spanId)!;
      expect(x.parentSpanId).toBe(res.spanId);
      expect(x.scope).toBe('@opentelemetry/instrumentation-undici');
      expect(x.attributes).toEqual(c.attributes);
    }
  });

  it.each(['lean', 'official'] as Mode[])('%s: a fetch outside any request is traced too (a root span, replayed by the idle timer)', (mode) => {
    const got = runs[mode]!;
    expect(got).toBeDefined();
    const { early, outgoing } = got;
    expect(early).toBeDefined();
    expect(early.parentSpanId).toBeUndefined();
    const out = outgoing.filter((x) => x.path === `/${mode}/early`);
    expect(out).toHaveLength(1);
    expect(out[0]!.headers['x-call-id']).toBeUndefined();
    expect(String(out[0]!.headers.traceparent)).toBe(`00-${early.traceId}-${early.spanId}-01`);
    const x = got.exported.find((s) => s.spanId === early.spanId)!;
    expect(x.parentSpanId).toBe('');
    expect(x.attributes['http.response.status_code']).toBe(200);
  });

  it('lean exports what official exports, field by field (name, kind, scope and version, attributes, status, events)', () => {
    const lean = runs.lean!;
    const official = runs.official!;
    expect(lean && official).toBeTruthy();
    const shape = (s: Reported) => ({
      name: s.name, kind: s.kind, scope: s.scope, status: s.status,
      // The early fetch's path names its mode; the rest must match exactly.
      attributes: { ...s.attributes, 'url.full': String(s.attributes['url.full']).replace(/\/(lean|official)\/early$/, '/MODE/early'), 'url.path': String(s.attributes['url.path']).replace(/^\/(lean|official)\//, '/MODE/') },
      events: s.events.map((e) => ({ name: e.name, type: e.attributes['exception.type'], message: e.attributes['exception.message'], stack: typeof e.attributes['exception.stacktrace'] })),
    });
    for (const p of paths) expect(shape(byPath(lean.clients, p)!)).toEqual(shape(byPath(official.clients, p)!));
    expect(shape(lean.early)).toEqual(shape(official.early));
    expect(lean.early.scope.version).toMatch(/^\d+\.\d+\.\d+/);
    // The exported spans too (the receiver's view: scope, kind, status, events).
    const exportedShape = (run: FetchRun, s: { spanId: string }) => {
      const x = run.exported.find((e) => e.spanId === s.spanId)!;
      return { name: x.name, kind: x.kind, scope: x.scope, status: x.status, events: x.events.map((e) => e.name), keys: Object.keys(x.attributes).sort() };
    };
    for (const p of paths) expect(exportedShape(lean, byPath(lean.clients, p)!)).toEqual(exportedShape(official, byPath(official.clients, p)!));
  });

  it('a setting it does not know is said on stderr and taken as lean (spans and headers still made)', async () => {
    const got = await run('bogus');
    expect(got.stderr.filter((l) => l.includes('FAASPROV_FETCH_TRACING'))).toEqual(['faasprov: FAASPROV_FETCH_TRACING="bogus" is neither lean nor official; fetch is traced the lean way']);
    expect(got.clients).toHaveLength(3);
    const out = got.outgoing.find((x) => x.path === paths[0])!;
    expect(String(out.headers.traceparent)).toBe(`00-${got.tp.traceId}-${byPath(got.clients, paths[0]!)!.spanId}-01`);
  });
});

describe('template python3-http-faasprov, concurrent requests', () => {
  it('marks each request on its own thread, so overlapping invocations stay apart', async () => {
    const fn = await startFunction('python3-http-faasprov', HANDLERS['python3-http-faasprov'].timed, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      const ids = Array.from({ length: 8 }, (_, i) => `conc-${i}`);
      const rs = await Promise.all(ids.map((id) => slowPost(`${fn.url}/?sleep=300`, id, { 'X-Call-Id': id }, 20)));
      const markers = await settledMarkers(fn, ids);
      const tids = new Set(rs.map((r) => r.json.tid));
      expect(tids.size).toBe(8);
      for (const [i, r] of rs.entries()) {
        expect(r.json.body).toBe(ids[i]);
        const mine = pairsOf(markers, ids[i]!);
        expect(mine.map((m) => m.phase)).toEqual(['B', 'E']);
        expect(mine.every((m) => m.tid === r.json.tid)).toBe(true);
      }
      // They did overlap: every begin came before the first end.
      const firstEnd = markers.filter((m) => m.phase === 'E').reduce((a, m) => (m.ns < a ? m.ns : a), BigInt(Number.MAX_SAFE_INTEGER) ** 2n);
      expect(markers.filter((m) => m.phase === 'B').every((m) => m.ns < firstEnd)).toBe(true);
    } finally {
      await fn.stop();
    }
  });
});

/** A handler that reports the connection it was served on (the wrapper's peer port, its thread) and what it got. */
const CONNECTION_HANDLER = `import threading
from flask import request
def handle(event, context):
    return {"statusCode": 200, "body": {"tid": threading.get_native_id(), "peerPort": request.environ['REMOTE_PORT'], "method": event.method, "path": event.path, "query": dict(event.query), "body": event.body.decode(), "callId": event.headers.get('X-Call-Id')}}
`;

interface Served { tid: number; peerPort: string; method: string; path: string; query: Record<string, string>; body: string; callId: string | null }
interface RawResponse { status: number; headers: Record<string, string>; body: string }

/** One raw TCP connection to a server: what is written goes out as given; responses are parsed as they come. */
class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;
  readonly socket: Socket;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    this.socket.on('end', () => { this.ended = true; this.wake(); });
    this.socket.on('error', () => { this.ended = true; this.wake(); });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async more(what: string, until: number): Promise<void> {
    if (this.ended) throw new Error(`the server closed the connection while waiting for ${what}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => {
      this.waiters.push(r);
      setTimeout(r, 200);
    });
  }

  /** The next response; interim (1xx) ones too. Bodies by Content-Length (the server always gives one, HEAD aside). */
  async response(head = false, timeoutMs = 30000): Promise<RawResponse> {
    const until = Date.now() + timeoutMs;
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more('a response head', until);
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = head || status < 200 ? 0 : Number(headers['content-length']);
    if (!Number.isInteger(length)) throw new Error(`no Content-Length in ${lines.join(' | ')}`);
    while (this.buf.length < end + 4 + length) await this.more('a response body', until);
    const body = this.buf.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + length);
    return { status, headers, body };
  }

  /** Resolves once the server has closed its side (nothing more may have come). */
  async closedByServer(timeoutMs = 30000): Promise<Buffer> {
    const until = Date.now() + timeoutMs;
    while (!this.ended) await this.more('the server to close the connection', until);
    return this.buf;
  }

  close(): void {
    this.socket.destroy();
  }
}

const portOf = (fn: FunctionProcess) => Number(new URL(fn.url).port);

describe('template python3-http-faasprov, connections kept alive', () => {
  it.each([['on', {}], ['off', { FAASPROV_SHIM: 'off' }]] as const)('shim %s: answers pipelined requests on one connection in order, each body read exactly (Content-Length, chunked, 100-continue)', async (shim, env) => {
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': CONNECTION_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', ...env });
    const c = new RawConnection(portOf(fn));
    try {
      // Four requests in one write: the server must take each body whole and no more.
      c.socket.write(
        'POST /one?n=1 HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-1\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nfirst\r\nbody!' +
        'POST /two HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-2\r\nTransfer-Encoding: chunked\r\n\r\n6;ext=1\r\nchunk-\r\n7\r\ned body\r\n0\r\nX-Trailer: t\r\n\r\n' +
        'GET /th%20ree/%C3%A9?a=1&b=x%20y HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-3\r\n\r\n' +
        'DELETE /four HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-4\r\nContent-Length: 0\r\n\r\n',
      );
      const rs = [await c.response(), await c.response(), await c.response(), await c.response()];
      // Then one that asks to continue: the body goes out only once the server said so.
      c.socket.write('PUT /five HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-5\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
      const interim = await c.response();
      expect(interim.status).toBe(100);
      c.socket.write('five');
      rs.push(await c.response());
      // And a HEAD: headers only, the connection still usable after it.
      c.socket.write('HEAD /six HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-6\r\n\r\n');
      const head = await c.response(true);
      c.socket.write('POST /seven HTTP/1.1\r\nHost: fn\r\nX-Call-Id: ka-7\r\nContent-Length: 5\r\n\r\nseven');
      rs.push(await c.response());

      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const got = rs.map((r) => JSON.parse(r.body) as Served);
      expect(got.map((g) => [g.method, g.path, g.body])).toEqual([
        ['POST', '/one', 'first\r\nbody!'],
        ['POST', '/two', 'chunk-ed body'],
        ['GET', '/th ree/é', ''],
        ['DELETE', '/four', ''],
        ['PUT', '/five', 'five'],
        ['POST', '/seven', 'seven'],
      ]);
      expect(got[0]!.query).toEqual({ n: '1' });
      expect(got[2]!.query).toEqual({ a: '1', b: 'x y' });
      expect(head.status).toBe(200);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      // One connection, one thread, every request kept alive.
      expect(new Set(got.map((g) => g.peerPort)).size).toBe(1);
      expect(new Set(got.map((g) => g.tid)).size).toBe(1);
      expect(got[0]!.peerPort).toBe(String(c.socket.localPort));
      for (const r of rs) expect(r.headers.connection).toBeUndefined();
      expect(c.ended).toBe(false);
      if (shim === 'on') {
        const ids = ['ka-1', 'ka-2', 'ka-3', 'ka-4', 'ka-5', 'ka-6', 'ka-7'];
        expect(rs.map((r) => r.headers['x-call-id'])).toEqual(ids.filter((id) => id !== 'ka-6'));
        expect(got.map((g) => g.callId)).toEqual(ids.filter((id) => id !== 'ka-6'));
        // Each invocation begins after the previous one ended, all on the connection's thread.
        const markers = await settledMarkers(fn, ids);
        expect(markers.map((m) => `${m.phase}:${m.callId}`)).toEqual(ids.flatMap((id) => [`B:${id}`, `E:${id}`]));
        expect(markers.every((m) => m.tid === got[0]!.tid)).toBe(true);
      } else {
        expect(rs.every((r) => r.headers['x-call-id'] === undefined)).toBe(true);
        expect(fn.markers()).toEqual([]);
      }
    } finally {
      c.close();
      await fn.stop();
    }
  });

  it("answers 500 and closes when the app's response body fails (the server's own error path), the invocation still ends, and its span says 500", async () => {
    // A streamed Flask response whose generator raises: Flask has returned, so the error reaches the server.
    const failing = ['from flask import Response', '', '', 'def handle(event, context):', '    def body():', "        yield b'partial'", "        raise RuntimeError('boom in the body')", '    return Response(body())', ''].join('\n');
    const receiver = await startReceiver();
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': failing }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' });
    const c = new RawConnection(portOf(fn));
    try {
      c.socket.write('POST /fail HTTP/1.1\r\nHost: fn\r\nX-Call-Id: fail-1\r\nContent-Length: 2\r\n\r\nhi');
      const r = await c.response();
      expect(r.status).toBe(500);
      expect(r.body).toBe('Internal Server Error');
      expect(r.headers.connection).toBe('close');
      expect((await c.closedByServer()).length).toBe(0);
      const said = await (async () => {
        const until = Date.now() + 10000;
        while (!fn.stderr().some((l) => l.includes('boom in the body')) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
        return fn.stderr();
      })();
      expect(said.filter((l) => l.startsWith('python3-http-faasprov: error serving POST /fail'))).toHaveLength(1);
      expect(said.some((l) => l.includes('RuntimeError: boom in the body'))).toBe(true);
      expect(pairsOf(await settledMarkers(fn, ['fail-1']), 'fail-1').map((m) => m.phase)).toEqual(['B', 'E']);
      // The server goes on serving other connections.
      const next = await fetch(`${fn.url}/`, { method: 'POST', body: 'again' });
      expect(next.status).toBe(500);
      await next.text();
      // The span says what the client got (Flask had started a 200 before its body failed).
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.attributes['faas.invocation_id'] === 'fail-1'), 'the failed invocation\'s span');
      const span = spans.find((x) => x.attributes['faas.invocation_id'] === 'fail-1')!;
      expect(span.kind).toBe(SERVER);
      expect(span.attributes['http.response.status_code']).toBe(500);
      expect(span.status.code).toBe(2); // ERROR
      const thrown = span.events.filter((e) => e.name === 'exception');
      expect(thrown.map((e) => e.attributes['exception.message'])).toEqual(['boom in the body']);
    } finally {
      c.close();
      await fn.stop();
      await receiver.stop();
    }
  });

  it('closes the connection after the response when the client asks (Connection: close, HTTP/1.0)', async () => {
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': CONNECTION_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      for (const [req, body] of [
        ['POST /bye HTTP/1.1\r\nHost: fn\r\nX-Call-Id: bye-1\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye', 'bye'],
        ['GET /old HTTP/1.0\r\nX-Call-Id: bye-2\r\n\r\n', ''],
      ] as const) {
        const c = new RawConnection(portOf(fn));
        try {
          c.socket.write(req);
          const r = await c.response();
          expect(r.status).toBe(200);
          expect((JSON.parse(r.body) as Served).body).toBe(body);
          expect(r.headers.connection).toBe('close');
          expect((await c.closedByServer()).length).toBe(0); // closed, and nothing after the response
        } finally {
          c.close();
        }
      }
      expect(pairsOf(await settledMarkers(fn, ['bye-1', 'bye-2']), 'bye-2').map((m) => m.phase)).toEqual(['B', 'E']);
      expect(pairsOf(fn.markers(), 'bye-1').map((m) => m.phase)).toEqual(['B', 'E']);
    } finally {
      await fn.stop();
    }
  });

  it('a client that goes away inside a body: its invocation still ends, nothing is said, the next client is served', async () => {
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': CONNECTION_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      const c = new RawConnection(portOf(fn));
      c.socket.write('POST /gone HTTP/1.1\r\nHost: fn\r\nX-Call-Id: gone-1\r\nContent-Length: 100\r\n\r\nonly part');
      const until = Date.now() + 30000;
      while (!fn.markers().some((m) => m.callId === 'gone-1') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      c.close();
      expect(pairsOf(await settledMarkers(fn, ['gone-1']), 'gone-1').map((m) => m.phase)).toEqual(['B', 'E']);
      const r = await fetch(`${fn.url}/next`, { method: 'POST', body: 'next' });
      expect(r.status).toBe(200);
      expect(((await r.json()) as Served).body).toBe('next');
      // The agent-down warning aside, the wrapper said nothing (no traceback, no request log).
      expect(fn.stderr().filter((l) => l.trim() !== '' && !l.startsWith('faasprov:'))).toEqual([]);
    } finally {
      await fn.stop();
    }
  });

  it('keeps one upstream connection for sequential requests through the real of-watchdog', async () => {
    await ensureOpenfaasTools();
    // of-watchdog listens on fixed ports (8080, metrics 8081): it runs in a network (and pid)
    // namespace of its own, with the client that calls it; the namespace ends with the client.
    const dir = prepareFunction('python3-http-faasprov', { 'handler.py': CONNECTION_HANDLER });
    try {
      writeFileSync(join(dir, 'client.mjs'), `
const url = 'http://127.0.0.1:8080';
const until = Date.now() + 60000;
for (;;) {
  const ok = await fetch(url + '/warm', { method: 'POST', body: 'warm' }).then(async (r) => (await r.text(), r.status === 200), () => false);
  if (ok) break;
  if (Date.now() > until) { console.log(JSON.stringify({ error: 'the function did not answer' })); process.exit(1); }
  await new Promise((r) => setTimeout(r, 100));
}
// of-watchdog drops an idle upstream connection after 500 ms: a round whose requests were further
// apart (a stalled machine) does not say anything, and is run again.
const rounds = [];
for (let a = 0; a < 5; a++) {
  const rs = [];
  let maxGapMs = 0;
  let last = performance.now();
  for (let i = 0; i < 6; i++) {
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    const r = await fetch(url + '/seq/' + i + '?i=' + i, { method: 'POST', body: 'body-' + a + '-' + i, headers: { 'x-call-id': 'wd-' + a + '-' + i } });
    rs.push({ status: r.status, callId: r.headers.get('x-call-id'), json: await r.json() });
    last = performance.now();
  }
  rounds.push({ rs, maxGapMs });
  if (maxGapMs < 250) break;
}
console.log(JSON.stringify({ rounds }));
`);
      const script = 'ip link set lo up || exit 90; "$WATCHDOG" > watchdog.log 2>&1 & exec "$NODE" client.mjs';
      const r = await execa('unshare', ['--net', '--pid', '--fork', 'sh', '-c', script], {
        cwd: dir,
        reject: false,
        timeout: 180000,
        env: {
          WATCHDOG: OF_WATCHDOG, NODE: process.execPath,
          mode: 'http', fprocess: `${join(PY_VENV, 'bin', 'python')} index.py`, upstream_url: 'http://127.0.0.1:5000', port: '8080', http_port: '5000',
          suppress_lock: 'true', PYTHONUNBUFFERED: '1', FAASPROV_MARKER_LOG: join(dir, 'markers.log'), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        },
      });
      const log = () => `client: ${r.stdout}\n${r.stderr}\nwatchdog:\n${existsSync(join(dir, 'watchdog.log')) ? readFileSync(join(dir, 'watchdog.log'), 'utf8') : ''}`;
      if (r.exitCode !== 0) throw new Error(`the namespace's client failed (${r.exitCode}):\n${log()}`);
      const { rounds } = JSON.parse(r.stdout) as { rounds: { rs: { status: number; callId: string; json: Served }[]; maxGapMs: number }[] };
      const a = rounds.findIndex((x) => x.maxGapMs < 250);
      expect(a).toBeGreaterThanOrEqual(0);
      const { rs } = rounds[a]!;
      for (const [i, x] of rs.entries()) {
        expect(x.status).toBe(200);
        expect([x.json.path, x.json.query.i, x.json.body, x.callId]).toEqual([`/seq/${i}`, String(i), `body-${a}-${i}`, `wd-${a}-${i}`]);
      }
      // The same peer port and thread for all: one connection from the watchdog, kept alive.
      expect(new Set(rs.map((x) => x.json.peerPort)).size).toBe(1);
      expect(new Set(rs.map((x) => x.json.tid)).size).toBe(1);
      const markers = readMarkers(join(dir, 'markers.log'));
      for (const x of rs) expect(pairsOf(markers, x.callId).map((m) => [m.phase, m.tid])).toEqual([['B', x.json.tid], ['E', x.json.tid]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240000);
});

describe('template python3-http-faasprov, spans made after the response', () => {
  // The SDK span is made once the response is written (deferred spans): what the handler did to
  // the current span, its ids and its times must still be those of the request.
  const handler = `import http.client, json, time, urllib.parse
from opentelemetry import propagate, trace
def handle(event, context):
    to = json.loads(event.body)
    span = trace.get_current_span()
    span.set_attribute('shop.order', to['order'])
    span.add_event('priced', {'cents': 1250})
    # A client the shim does not instrument: the handler propagates by hand, from the server span.
    headers = {}
    propagate.inject(headers)
    u = urllib.parse.urlparse(to['http'])
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request('GET', '/manual', headers=headers)
    c.getresponse().read()
    time.sleep(0.3)
    if to.get('badLink'):
        span.add_link('not a span context')  # the SDK cannot take it: its replay fails
    span.set_status(trace.Status(trace.StatusCode.ERROR, 'out of stock'))
    return {"statusCode": 200, "body": "ok"}
`;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it("exports the server span with the handler's attributes, events and status, the request's times, and the id outgoing calls name as parent", async () => {
    const echo = await startEcho();
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': handler }, { FAASPROV_FUNCTION: 'deferred-fn', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const sentNs = BigInt(Date.now()) * 1000000n;
      const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': 'dfr-1', traceparent: tp.header }, body: JSON.stringify({ http: echo.url, order: 'o-17' }) });
      expect(r.status).toBe(200);
      await r.text();
      const receivedNs = BigInt(Date.now()) * 1000000n;
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.traceId === tp.traceId && x.kind === SERVER), 'the server span');
      const span = spans.find((x) => x.traceId === tp.traceId && x.kind === SERVER)!;
      expect(span.parentSpanId).toBe(tp.spanId);
      expect(span.attributes['faas.invocation_id']).toBe('dfr-1');
      expect(span.attributes['shop.order']).toBe('o-17');
      expect(span.attributes['http.response.status_code']).toBe(200);
      expect(span.status).toEqual({ code: 2, message: 'out of stock' });
      // Times from the request (the clocks are the same; Date.now() has ms steps), not the replay's.
      // The span ends when the server closes the response, just after its last write: the client
      // may have the response first (a loaded machine can hold the server's thread in between),
      // hence the end's slack.
      const [start, end] = [BigInt(span.startNs), BigInt(span.endNs)];
      expect(start).toBeGreaterThanOrEqual(sentNs - 1000000n);
      expect(end).toBeLessThanOrEqual(receivedNs + 200000000n);
      expect(end - start).toBeGreaterThanOrEqual(300000000n); // the handler's sleep is inside it
      expect(span.events.map((e) => e.name)).toEqual(['priced']);
      expect(span.events[0]!.attributes).toEqual({ cents: 1250 });
      const eventNs = BigInt(span.events[0]!.timeNs);
      expect(eventNs).toBeGreaterThanOrEqual(start);
      expect(eventNs).toBeLessThanOrEqual(end - 300000000n); // recorded before the sleep
      // The hand-propagated call names the server span as its parent, with the call id beside it.
      const manual = echo.requests.find((x) => x.path === '/manual')!;
      expect(manual.headers.traceparent).toBe(`00-${tp.traceId}-${span.spanId}-01`);
      expect(manual.headers['x-call-id']).toBe('dfr-1');
    } finally {
      await fn.stop();
      await echo.stop();
    }
  });

  it("exports a server span nothing asked for (its traceparent parsed after the response) under the request's parent, or as a root", async () => {
    const fn = await startFunction('python3-http-faasprov', HANDLERS['python3-http-faasprov'].timed, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      for (const [id, headers] of [['lazy-1', { traceparent: tp.header, tracestate: 'vendor=x' }], ['lazy-2', {}]] as const) {
        const r = await slowPost(`${fn.url}/`, id, { 'X-Call-Id': id, ...headers }, 0);
        expect(r.status).toBe(200);
      }
      const spans = await receiver.waitForSpans((s) => ['lazy-1', 'lazy-2'].every((id) => s.some((x) => x.attributes['faas.invocation_id'] === id)), 'both server spans');
      const [child, root] = ['lazy-1', 'lazy-2'].map((id) => spans.find((x) => x.attributes['faas.invocation_id'] === id)!);
      expect([child!.traceId, child!.parentSpanId]).toEqual([tp.traceId, tp.spanId]);
      expect(root!.parentSpanId).toBe('');
      expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(root!.traceId).not.toBe(tp.traceId);
      expect(new Set([child!.spanId, root!.spanId, tp.spanId]).size).toBe(3);
    } finally {
      await fn.stop();
    }
  });

  it("exports the client span of a call a handler's thread makes after the response, under the server span", async () => {
    const echo = await startEcho();
    const late = `import json, threading, time, urllib.request
def handle(event, context):
    to = json.loads(event.body)
    def later():
        time.sleep(0.3)
        urllib.request.urlopen(to['http'] + '/late').read()
    threading.Thread(target=later).start()  # not joined: its call ends after the response
    return {"statusCode": 200, "body": "ok"}
`;
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': late }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tp = newTraceparent();
      const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': 'late-1', traceparent: tp.header }, body: JSON.stringify({ http: echo.url }) });
      expect(r.status).toBe(200);
      await r.text();
      const spans = await receiver.waitForSpans((s) => s.filter((x) => x.traceId === tp.traceId).length >= 2, 'the server and the late client span');
      const server = spans.find((x) => x.traceId === tp.traceId && x.kind === SERVER)!;
      const client = spans.find((x) => x.traceId === tp.traceId && x.kind === CLIENT)!;
      expect(client.parentSpanId).toBe(server.spanId);
      expect(BigInt(client.startNs)).toBeGreaterThan(BigInt(server.endNs));
      const call = echo.requests.find((x) => x.path === '/late')!;
      expect(call.headers.traceparent).toBe(`00-${tp.traceId}-${client.spanId}-01`);
      expect(call.headers['x-call-id']).toBe('late-1');
    } finally {
      await fn.stop();
      await echo.stop();
    }
  });

  // A span processor of the handler's own notes when and on which thread the SDK makes each span;
  // ?report=1 returns the notes, ?sleep=MS holds the request, any other call returns its thread and time.
  const NOTING_HANDLER = `import json, threading, time
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor
made = []
class Note(SpanProcessor):
    def on_start(self, span, parent_context=None):
        made.append({'spanId': '%016x' % span.get_span_context().span_id, 'tid': threading.get_native_id(), 'ns': time.monotonic_ns()})
trace.get_tracer_provider().add_span_processor(Note())
def handle(event, context):
    if event.query.get('report'):
        return {"statusCode": 200, "body": {"made": made}}
    time.sleep(int(event.query.get('sleep', '0')) / 1000)
    return {"statusCode": 200, "body": {"tid": threading.get_native_id(), "ns": time.monotonic_ns()}}
`;

  it('makes the spans of an export period together, on a thread of its own, and exports them with the times and ids of their requests', async () => {
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': NOTING_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '1500' });
    try {
      const tps = Array.from({ length: 5 }, () => newTraceparent());
      const served: { tid: number; ns: number }[] = [];
      for (const [i, tp] of tps.entries()) {
        const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'x-call-id': `batch-${i}`, traceparent: tp.header }, body: 'x' });
        served.push((await r.json()) as { tid: number; ns: number });
        await new Promise((res) => setTimeout(res, 150));
      }
      const spans = await receiver.waitForSpans((s) => tps.every((tp) => s.some((x) => x.traceId === tp.traceId)), 'the five server spans');
      const report = (await (await fetch(`${fn.url}/?report=1`, { method: 'POST', body: 'x' })).json()) as { made: { spanId: string; tid: number; ns: number }[] };
      const mine = tps.map((tp) => spans.find((x) => x.traceId === tp.traceId)!);
      const made = mine.map((s) => report.made.find((m) => m.spanId === s.spanId)!);
      expect(made.every(Boolean)).toBe(true);
      // One thread made them all, not the requests' serving thread, after the last response, together.
      expect(new Set(made.map((m) => m.tid)).size).toBe(1);
      expect(served.map((x) => x.tid)).not.toContain(made[0]!.tid);
      expect(Math.min(...made.map((m) => m.ns))).toBeGreaterThan(served[4]!.ns);
      expect(Math.max(...made.map((m) => m.ns)) - Math.min(...made.map((m) => m.ns))).toBeLessThan(100e6);
      // Each exported span is its request's: parent, call id, a start 150 ms or more after the previous one.
      mine.forEach((s, i) => {
        expect(s.parentSpanId).toBe(tps[i]!.spanId);
        expect(s.attributes['faas.invocation_id']).toBe(`batch-${i}`);
        if (i > 0) expect(BigInt(s.startNs) - BigInt(mine[i - 1]!.startNs)).toBeGreaterThanOrEqual(150000000n);
      });
    } finally {
      await fn.stop();
    }
  });

  it('a batch waits while a request is being served: the SDK makes the spans after that response', async () => {
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': NOTING_HANDLER }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '500' });
    try {
      const tp = newTraceparent();
      // The first span starts a 500 ms period; a request sleeping from about 300 ms to 700 ms spans its end.
      const first = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'x-call-id': 'way-1', traceparent: tp.header }, body: 'x' });
      await first.text();
      await new Promise((res) => setTimeout(res, 300));
      const slow = (await (await fetch(`${fn.url}/?sleep=400`, { method: 'POST', headers: { 'x-call-id': 'way-2' }, body: 'x' })).json()) as { ns: number };
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.traceId === tp.traceId), 'the first server span');
      const report = (await (await fetch(`${fn.url}/?report=1`, { method: 'POST', body: 'x' })).json()) as { made: { spanId: string; ns: number }[] };
      const made = report.made.find((m) => m.spanId === spans.find((x) => x.traceId === tp.traceId)!.spanId)!;
      expect(made.ns).toBeGreaterThan(slow.ns);
    } finally {
      await fn.stop();
    }
  });

  it('counts a span the SDK cannot make after the response and says so once', async () => {
    const echo = await startEcho();
    const fn = await startFunction('python3-http-faasprov', { 'handler.py': handler }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const tps = [newTraceparent(), newTraceparent(), newTraceparent()];
      for (const [i, tp] of tps.entries()) {
        const r = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: tp.header }, body: JSON.stringify({ http: echo.url, order: `o-${i}`, badLink: i < 2 }) });
        expect(r.status).toBe(200); // the handler is not disturbed
        await r.text();
      }
      // The good request's span arrives; the two bad ones' do not, and one warning says why.
      await receiver.waitForSpans((s) => s.some((x) => x.traceId === tps[2]!.traceId && x.kind === SERVER), 'the good server span');
      await new Promise((res) => setTimeout(res, 1500)); // five export periods
      expect(receiver.spans().filter((x) => x.traceId === tps[0]!.traceId || x.traceId === tps[1]!.traceId)).toEqual([]);
      const said = () => fn.stderr().filter((l) => l.startsWith('faasprov:'));
      expect(said()).toHaveLength(1);
      expect(said()[0]).toMatch(/^faasprov: cannot make a span after the response \(.+\); such spans are dropped, counted/);
      await fn.stop();
      expect(said()[1]).toBe('faasprov: 2 spans could not be made after their response and were dropped');
    } finally {
      await fn.stop();
      await echo.stop();
    }
  });
});

describe('the templates with the real faas-cli', () => {
  it('template pull from a git repository, new, build --shrinkwrap; the official sample handlers run in the build folders', async () => {
    await ensureOpenfaasTools();
    // faas-cli clones the repository and takes template/ at its root: openfaas-templates/ is one.
    const repo = tempDir('fp-tpl-repo-');
    cpSync(join(ROOT, 'openfaas-templates'), repo, { recursive: true });
    const git = (args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    await git(['init', '-q']);
    await git(['add', '-A']);
    await git(['commit', '-qm', 'templates']);
    const dir = tempDir('fp-tpl-cli-');
    const pull = await faasCli(dir, ['template', 'pull', repo]);
    expect(pull.exitCode).toBe(0);
    for (const lang of ['node24-faasprov', 'python3-http-faasprov']) expect(existsSync(join(dir, 'template', lang, 'template.yml'))).toBe(true);
    expect((await faasCli(dir, ['new', '--lang', 'node24-faasprov', 'fn-node'])).exitCode).toBe(0);
    expect((await faasCli(dir, ['new', '--lang', 'python3-http-faasprov', 'fn-py', '--append', 'stack.yaml'])).exitCode).toBe(0);
    const build = await faasCli(dir, ['build', '--shrinkwrap', '-f', 'stack.yaml']);
    expect(build.exitCode).toBe(0);
    for (const [fn, files] of [['fn-node', ['index.js', 'package.json', 'package-lock.json', 'faasprov/index.js', 'function/handler.js', 'function/package.json']], ['fn-py', ['index.py', 'server.py', 'requirements.txt', 'faasprov/__init__.py', 'function/handler.py', 'function/requirements.txt']]] as const) {
      for (const f of files) expect(existsSync(join(dir, 'build', fn, f))).toBe(true);
      const dockerfile = readFileSync(join(dir, 'build', fn, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^FROM .*ghcr\.io\/openfaas\/of-watchdog:0\.11\.6 AS watchdog$/m);
      expect(dockerfile).toMatch(/^ENV mode="http"$/m);
    }
    // The handlers faas-cli new wrote are the official templates' samples, unchanged.
    const node = await startFunction('node24-faasprov', {}, {}, join(dir, 'build', 'fn-node'));
    const py = await startFunction('python3-http-faasprov', {}, {}, join(dir, 'build', 'fn-py'));
    try {
      const a = await fetch(`${node.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
      expect(a.status).toBe(200);
      expect(await a.json()).toEqual({ body: '{"n":1}', 'content-type': 'application/json' });
      const b = await fetch(`${py.url}/`, { method: 'POST', body: 'x' });
      expect(b.status).toBe(200);
      expect(await b.text()).toBe('Hello from OpenFaaS!');
      expect(pairsOf(await settledMarkers(py, [b.headers.get('x-call-id')!]), b.headers.get('x-call-id')!).map((m) => m.phase)).toEqual(['B', 'E']);
    } finally {
      await node.stop();
      await py.stop();
      rmSync(repo, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300000);
});
