import { createRequire } from 'node:module';

/**
 * OTLP/HTTP trace export requests, decoded with the OpenTelemetry project's own generated
 * protobuf code (protobufjs static code from the opentelemetry-proto definitions, shipped in
 * @opentelemetry/otlp-transformer): no protobuf parsing of ours.
 */
interface PbMessage {
  decode(buf: Uint8Array): unknown;
  encode(msg: unknown): { finish(): Uint8Array };
  fromObject(obj: unknown): unknown;
}
const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: PbMessage; ExportTraceServiceResponse: PbMessage } } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = root.opentelemetry.proto.collector.trace.v1;

type Scalar = string | number | boolean;

/** One span as the receiver hands it on: ids as lower-case hex, times in µs since the epoch. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer' | undefined;
  start: number;
  end: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  /** The kept span attributes (KEPT_ATTRIBUTES) with the resource's under them (scalars only). */
  attrs: Map<string, Scalar>;
}

export class OtlpDecodeError extends Error {}

/**
 * The attributes the app layer reads; the rest is dropped at once, and strings are cut, so a span
 * waiting in the agent's queue holds a bounded size whatever a function sends.
 */
export const KEPT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'faas.invocation_id', 'faas.trigger', 'faas.coldstart', 'faas.name', 'service.name',
  'http.request.method', 'http.method', 'url.full', 'url.path', 'http.target', 'http.url',
  'http.response.status_code', 'http.status_code',
]);
const MAX_STRING = 2048;

const KINDS = [undefined, 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const STATUS = ['unset', 'ok', 'error'] as const;

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | { toString(): string };
  doubleValue?: number;
}
interface KeyValue {
  key?: string;
  value?: AnyValue;
}
interface PbSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: number | { toString(): string };
  endTimeUnixNano?: number | { toString(): string };
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
}
interface PbRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: PbSpan[] }[] }[];
}

function scalar(v: AnyValue | undefined): Scalar | undefined {
  if (!v) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue.slice(0, MAX_STRING);
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue.toString());
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  return undefined;
}

function hex(b: Uint8Array | undefined): string {
  return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') : '';
}

function micros(ns: number | { toString(): string } | undefined): number {
  if (ns === undefined || ns === null) return 0;
  try {
    const v = BigInt(typeof ns === 'number' ? Math.round(ns) : ns.toString());
    return v > 0n ? Number(v / 1000n) : 0;
  } catch {
    return 0;
  }
}

/** OTLP/JSON writes trace and span ids as hex; the generated code reads bytes as base64. */
function hexIdsToBytes(json: unknown): unknown {
  const fix = (o: Record<string, unknown>, k: string) => {
    const v = o[k];
    if (typeof v === 'string') {
      if (!/^([0-9a-fA-F]{2})*$/.test(v)) throw new OtlpDecodeError(`${k} is not hex`);
      o[k] = Buffer.from(v, 'hex');
    }
  };
  const req = json as { resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  if (typeof req !== 'object' || req === null) throw new OtlpDecodeError('the body is not a JSON object');
  for (const rs of Array.isArray(req.resourceSpans) ? req.resourceSpans : []) {
    for (const ss of Array.isArray(rs?.scopeSpans) ? rs.scopeSpans : []) {
      for (const sp of Array.isArray(ss?.spans) ? ss.spans : []) {
        if (typeof sp !== 'object' || sp === null) continue;
        for (const k of ['traceId', 'spanId', 'parentSpanId']) fix(sp, k);
        for (const l of Array.isArray(sp.links) ? (sp.links as Record<string, unknown>[]) : []) {
          if (typeof l === 'object' && l !== null) for (const k of ['traceId', 'spanId']) fix(l, k);
        }
      }
    }
  }
  return json;
}

/**
 * Decodes an export request body. Returns the well-formed spans and how many were refused
 * (ids of the wrong size or all zero: the spec says such spans are invalid).
 */
export function decodeTraces(body: Buffer, contentType: 'protobuf' | 'json'): { spans: SpanRecord[]; rejected: number } {
  let req: PbRequest;
  try {
    if (contentType === 'protobuf') req = ExportTraceServiceRequest.decode(body) as PbRequest;
    else {
      // fromObject checks the shape (it throws on a wrong type) and reads 64-bit integers
      // written as strings, as OTLP/JSON allows (verify() would refuse those).
      req = ExportTraceServiceRequest.fromObject(hexIdsToBytes(JSON.parse(body.toString('utf8')))) as PbRequest;
    }
  } catch (err) {
    throw err instanceof OtlpDecodeError ? err : new OtlpDecodeError((err as Error).message);
  }
  const spans: SpanRecord[] = [];
  let rejected = 0;
  for (const rs of req.resourceSpans ?? []) {
    const resource = new Map<string, Scalar>();
    for (const kv of rs.resource?.attributes ?? []) {
      const v = kv.key && KEPT_ATTRIBUTES.has(kv.key) ? scalar(kv.value) : undefined;
      if (v !== undefined) resource.set(kv.key!, v);
    }
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const traceId = hex(s.traceId);
        const spanId = hex(s.spanId);
        const parent = hex(s.parentSpanId);
        if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId) || /^0+$/.test(spanId) || (parent !== '' && !/^[0-9a-f]{16}$/.test(parent))) {
          rejected++;
          continue;
        }
        const attrs = new Map(resource);
        for (const kv of s.attributes ?? []) {
          const v = kv.key && KEPT_ATTRIBUTES.has(kv.key) ? scalar(kv.value) : undefined;
          if (v !== undefined) attrs.set(kv.key!, v);
        }
        const r: SpanRecord = {
          traceId,
          spanId,
          name: (s.name ?? '').slice(0, 1024),
          kind: KINDS[s.kind ?? 0],
          start: micros(s.startTimeUnixNano),
          end: micros(s.endTimeUnixNano),
          status: STATUS[s.status?.code ?? 0] ?? 'unset',
          attrs,
        };
        if (parent !== '' && !/^0+$/.test(parent)) r.parentSpanId = parent;
        if (s.status?.message) r.statusMessage = s.status.message.slice(0, 1024);
        spans.push(r);
      }
    }
  }
  return { spans, rejected };
}

/** The export response: empty, or a partial success naming how many spans were refused. */
export function encodeResponse(contentType: 'protobuf' | 'json', rejected: number, why?: string): Buffer {
  const body = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: why ?? '' } } : {};
  if (contentType === 'json') return Buffer.from(JSON.stringify(body));
  return Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(body)).finish());
}
