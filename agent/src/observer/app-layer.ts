import { invocationId, spanNodeId, type InvocationNode, type SpanNode } from '@faasprov/model';
import type { SpanRecord } from '../otlp/decode.js';
import type { ActiveUnit } from './attribution.js';
import type { GraphBuffer } from './graph-buffer.js';

export interface AppLayerOptions {
  node: string;
  /** Spans held at most (waiting for their unit, or for the next batch). */
  maxPending?: number;
  /** How long a span waits for the kernel's unit of its call id before it goes on without (ms). */
  waitMs?: number;
}

export interface AppLayerHost {
  /** The unit of a call id the kernel saw running at time at (µs), else its latest (observer). */
  unitOf(callId: string, at?: number): ActiveUnit | undefined;
  /** Loss is data: summed into a Gap per cause and batch interval. */
  loss(cause: string, count: number, from: number, to: number, detail?: string): void;
}

/** Unix µs. */
const nowUs = () => Date.now() * 1000;
/** Span and unit clocks are both the node's; more apart than this is not jitter. */
const CLOCK_SLACK_US = 1_000_000;

function str(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

/**
 * The app layer on the agent: spans from the node's OTLP receiver become Span nodes in the same
 * batches as the kernel's facts. A span with a call id (faas.invocation_id) joins the unit the
 * kernel saw for it (waiting up to waitMs, since spans and markers travel different paths) and
 * so its invocation's tenant; a server span's claims go on the Invocation beside the kernel's
 * (app* fields), and where they disagree the Invocation lists the contradiction. Parents are
 * linked by id (a stub until the parent arrives, perhaps through another agent); stitching
 * invocations across spans is the collector's (collector/src/stitch.ts).
 */
export class AppLayer {
  private pending: { span: SpanRecord; at: number }[] = [];
  readonly stats = { received: 0, joined: 0, unjoined: 0, dropped: 0 };

  constructor(
    private readonly opts: AppLayerOptions,
    private readonly host: AppLayerHost,
    private readonly out: GraphBuffer,
  ) {}

  /** Takes what fits in the queue; the rest is counted and recorded as an otlp-queue-full Gap. */
  accept(spans: SpanRecord[]): number {
    const room = Math.max(0, (this.opts.maxPending ?? 10000) - this.pending.length);
    const taken = spans.slice(0, room);
    const at = Date.now();
    for (const span of taken) this.pending.push({ span, at });
    this.stats.received += taken.length;
    const dropped = spans.length - taken.length;
    if (dropped > 0) {
      this.stats.dropped += dropped;
      const t = nowUs();
      this.host.loss('otlp-queue-full', dropped, t, t, 'spans refused: the agent held its maximum of spans waiting for their invocations');
    }
    return taken.length;
  }

  get size(): number {
    return this.pending.length;
  }

  /** Emits every span whose unit is known or whose wait is over; flush: emit all now. */
  drain(flush = false): void {
    const now = Date.now();
    const wait = this.opts.waitMs ?? 5000;
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      const callId = str(p.span.attrs.get('faas.invocation_id'), 128);
      // A retried call id has several units: the span belongs to the one running when it began.
      const unit = callId ? this.host.unitOf(callId, p.span.start || undefined) : undefined;
      if (callId && !unit && !flush && now - p.at < wait) keep.push(p);
      else this.emit(p.span, callId, unit);
    }
    this.pending = keep;
  }

  private emit(s: SpanRecord, callId: string | undefined, unit: ActiveUnit | undefined): void {
    const a = s.attrs;
    const tenant = unit?.node.tenant;
    const node: SpanNode = { id: spanNodeId(s.traceId, s.spanId), type: 'Span', traceId: s.traceId, spanId: s.spanId, node: this.opts.node, name: s.name.slice(0, 1024) };
    if (s.kind) node.kind = s.kind;
    if (s.start > 0) node.start = s.start;
    if (s.end > 0) node.end = Math.max(s.end, s.start);
    node.status = s.status;
    if (s.statusMessage) node.statusMessage = s.statusMessage.slice(0, 1024);
    if (s.parentSpanId) node.parentSpanId = s.parentSpanId;
    const service = str(a.get('service.name'), 253);
    if (service) node.service = service;
    const fn = str(a.get('faas.name'), 253);
    if (fn) node.function = fn;
    const trigger = str(a.get('faas.trigger'), 64);
    if (trigger) node.trigger = trigger;
    if (typeof a.get('faas.coldstart') === 'boolean') node.coldStart = a.get('faas.coldstart') as boolean;
    const method = str(a.get('http.request.method') ?? a.get('http.method'), 32);
    if (method) node.httpMethod = method;
    const target = str(a.get('url.full') ?? a.get('url.path') ?? a.get('http.target') ?? a.get('http.url'), 2048);
    if (target) node.httpTarget = target;
    const code = a.get('http.response.status_code') ?? a.get('http.status_code');
    if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 999) node.httpStatus = code;
    if (tenant) node.tenant = tenant;
    const t0 = node.start ?? nowUs();
    const t1 = Math.max(node.end ?? t0, t0);
    if (s.parentSpanId) {
      // Known by its ids alone until it arrives itself, from this agent or another.
      const parent: SpanNode = { id: spanNodeId(s.traceId, s.parentSpanId), type: 'Span', traceId: s.traceId, spanId: s.parentSpanId };
      this.out.addEdge('WAS_INFORMED_BY', node, parent, t0, t0, 1, 0);
    }
    if (!callId) {
      this.out.upsertNode(node);
      return;
    }
    node.callId = callId;
    if (unit) this.stats.joined++;
    else {
      this.stats.unjoined++;
      node.unitSeen = false;
    }
    const inv: InvocationNode = unit?.invocation ?? { id: invocationId(callId), type: 'Invocation', callId, start: t0, source: 'shim' };
    node.invocation = inv.id;
    if (s.kind === 'server' || s.kind === 'consumer') this.claims(inv, node, unit);
    this.out.addEdge('PART_OF', node, inv, t0, t1, 1, 0);
  }

  /** What the server span says goes beside what the kernel saw; disagreements are listed. */
  private claims(inv: InvocationNode, s: SpanNode, unit: ActiveUnit | undefined): void {
    if (s.function) inv.appFunction = s.function;
    if (s.trigger) inv.appTrigger = s.trigger;
    if (s.coldStart !== undefined) inv.appColdStart = s.coldStart;
    if (s.status) inv.appStatus = s.status;
    if (s.start !== undefined) inv.appStart = s.start;
    if (s.end !== undefined) inv.appEnd = s.end;
    if (s.start !== undefined && s.end !== undefined) inv.appDuration = s.end - s.start;
    inv.traceId = s.traceId;
    inv.spanId = s.spanId;
    const found: string[] = [];
    if (!unit) found.push(`kernel: no unit of this call id was seen on node ${this.opts.node}`);
    if (s.function && inv.function && s.function !== inv.function) found.push(`function: the span says ${JSON.stringify(s.function)}, the instance runs ${JSON.stringify(inv.function)}`);
    if (unit && s.start !== undefined && s.end !== undefined) {
      const [us, ue] = [unit.node.start, unit.node.end ?? Number.MAX_SAFE_INTEGER];
      if (s.end + CLOCK_SLACK_US < us || s.start - CLOCK_SLACK_US > ue) found.push(`time: the server span (${s.start}–${s.end} µs) does not overlap the kernel's unit (${us}–${unit.node.end ?? 'open'} µs)`);
    }
    if (unit && s.coldStart === true && unit.servedBefore > 0) found.push(`coldStart: the span says cold start; the kernel saw its process finish ${unit.servedBefore} invocations before`);
    if (found.length > 0) inv.contradictions = [...new Set([...(inv.contradictions ?? []), ...found])].slice(-16);
    this.out.upsertNode(inv);
  }
}
