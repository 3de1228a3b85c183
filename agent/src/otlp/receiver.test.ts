import { describe, expect, it, afterEach } from '@jest/globals';
import { createRequire } from 'node:module';
import { OtlpReceiver, parseOtlpAddress } from './receiver.js';
import type { SpanRecord } from './decode.js';

const require = createRequire(import.meta.url);
type Pb = { fromObject(o: unknown): unknown; encode(m: unknown): { finish(): Uint8Array }; decode(b: Uint8Array): unknown; toObject(m: unknown): unknown };
const v1 = (require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as { opentelemetry: { proto: { collector: { trace: { v1: Record<string, Pb> } } } } }).opentelemetry.proto.collector.trace.v1;

const TRACE = '5b8efff798038103d269b633813fc60c';
/** An OTLP/JSON export request as the spec writes it: hex ids, nanosecond strings, enum numbers. */
const jsonRequest = (spanId = 'eee19b7ec3c1b174', traceId = TRACE) => ({
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
    scopeSpans: [{
      spans: [{
        traceId, spanId, parentSpanId: 'eee19b7ec3c1b173', name: 'POST /', kind: 2,
        startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000000',
        attributes: [
          { key: 'faas.invocation_id', value: { stringValue: 'call-1' } },
          { key: 'faas.coldstart', value: { boolValue: true } },
          { key: 'http.response.status_code', value: { intValue: '200' } },
          { key: 'app.secret.blob', value: { stringValue: 'x'.repeat(100000) } },
        ],
        status: { code: 2, message: 'boom' },
      }],
    }],
  }],
});

describe('OtlpReceiver', () => {
  let r: OtlpReceiver | undefined;
  afterEach(async () => r?.stop());

  async function start(room = 100) {
    const got: SpanRecord[] = [];
    const bad: string[] = [];
    r = new OtlpReceiver({ host: '127.0.0.1', port: 0, accept: (s) => (got.push(...s.slice(0, room)), Math.min(room, s.length)), onBadRequest: (w) => bad.push(w) });
    await r.start();
    return { got, bad, url: r.url! };
  }

  it('reads JSON and protobuf export requests into the same spans', async () => {
    const { got, url } = await start();
    const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonRequest()) });
    expect([json.status, await json.json()]).toEqual([200, {}]);
    // The protobuf body is made by the generated OTLP code from the same request (ids as bytes).
    const req = jsonRequest('eee19b7ec3c1b175');
    const sp = req.resourceSpans[0]!.scopeSpans[0]!.spans[0]! as Record<string, unknown>;
    for (const k of ['traceId', 'spanId', 'parentSpanId']) sp[k] = Buffer.from(sp[k] as string, 'hex');
    const body = v1.ExportTraceServiceRequest!.encode(v1.ExportTraceServiceRequest!.fromObject(req)).finish();
    const pb = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    expect(pb.status).toBe(200);
    expect(pb.headers.get('content-type')).toBe('application/x-protobuf');
    expect(got).toHaveLength(2);
    for (const s of got) {
      expect(s).toMatchObject({ traceId: TRACE, parentSpanId: 'eee19b7ec3c1b173', name: 'POST /', kind: 'server', start: 1544712660000000, end: 1544712661000000, status: 'error', statusMessage: 'boom' });
      expect(Object.fromEntries(s.attrs)).toEqual({ 'service.name': 'shop', 'faas.invocation_id': 'call-1', 'faas.coldstart': true, 'http.response.status_code': 200 });
    }
    expect(got.map((s) => s.spanId)).toEqual(['eee19b7ec3c1b174', 'eee19b7ec3c1b175']);
  });

  it('refuses spans with invalid ids and spans over the queue, as a partial success', async () => {
    const { got, url } = await start(0);
    const req = jsonRequest();
    req.resourceSpans[0]!.scopeSpans[0]!.spans.push({ ...req.resourceSpans[0]!.scopeSpans[0]!.spans[0]!, traceId: '0'.repeat(32) });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ partialSuccess: { rejectedSpans: 2 } });
    expect(got).toHaveLength(0);
  });

  it('answers 400, 413, 415, 404 and 405 without taking anything, and says why', async () => {
    const { got, bad, url } = await start();
    const post = (body: string | Buffer, type = 'application/json', path = url) => fetch(path, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('{"resourceSpans": 7')).status).toBe(400);
    expect((await post(Buffer.from([0x0a, 0xff, 0xff]), 'application/x-protobuf')).status).toBe(400);
    expect((await post(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz' }] }] }] }))).status).toBe(400);
    expect((await post('{}', 'text/plain')).status).toBe(415);
    expect((await post(Buffer.alloc(5 * 1024 * 1024), 'application/x-protobuf').catch(() => ({ status: 413 }))).status).toBe(413);
    expect((await post('{}', 'application/json', url.replace('/v1/traces', '/v1/logs'))).status).toBe(404);
    expect((await fetch(url)).status).toBe(405);
    expect(got).toHaveLength(0);
    expect(bad).toHaveLength(4);
  });

  it('takes HOST:PORT or off', () => {
    expect(parseOtlpAddress('127.0.0.1:4318')).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(parseOtlpAddress('[::1]:4318')).toEqual({ host: '::1', port: 4318 });
    expect(parseOtlpAddress('off')).toBeUndefined();
    expect(() => parseOtlpAddress('4318')).toThrow(/FP_ERR_BAD_OTLP|--otlp/);
  });
});
