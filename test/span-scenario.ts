import { GENESIS_HASH, type Batch } from '@faasprov/model';
import { AppLayer, GraphBuffer, Observer, parseLine, type SpanRecord } from '@faasprov/agent';

/**
 * A call chain as two agents ship it, through the real observer (markers → units) and app layer
 * (spans → Span nodes): A → B (sync, across nodes; A's client span carries no call id) → C
 * (async: producer, then consumer), C retried on another instance.
 */
export const T = 'aa'.repeat(16);
const NS = 1_700_000_000_000_000_000n; // kernel ns + offset: µs near 1.7e15

/** One agent: the real observer (markers → units) and the real app layer (spans → Span nodes). */
export class FakeNode {
  readonly buf = new GraphBuffer(false);
  readonly obs: Observer;
  readonly app: AppLayer;
  private seq = 0;
  private prev = GENESIS_HASH;
  constructor(readonly node: string, readonly agent: string) {
    this.obs = new Observer({ node, agent, clockOffsetNs: NS, rootCwd: '/' }, this.buf);
    this.app = new AppLayer({ node, waitMs: 0 }, this.obs, this.buf);
  }
  /** A process serving one invocation: begin and end markers on its main thread. */
  serve(pid: number, callId: string, fromNs: number, toNs: number): void {
    for (const l of [
      `X\t${fromNs - 100}\t${pid}\t1\t1\t0\t0\t/usr/bin/python3`,
      `O\t${fromNs - 50}\t${pid}\t3\t1\t-100\t/dev/null`,
      `m\t${fromNs}\t${pid}\t${pid}\tfaasprov:B:${callId} fn-${callId}`,
      `O\t${fromNs + 10}\t${pid}\t4\t65\t-100\t/tmp/${callId}-${pid}`,
      `W\t${fromNs + 20}\t${pid}/${pid}\t1\t4\t3`,
      `m\t${toNs}\t${pid}\t${pid}\tfaasprov:E:${callId}`,
    ]) this.obs.handle(parseLine(l));
  }
  spans(...s: SpanRecord[]): void {
    this.app.accept(s);
    this.app.drain();
  }
  cut(): Batch {
    const b = this.buf.cut(this.agent, this.seq++, this.prev);
    this.prev = b.hash!;
    return b;
  }
}

export const µs = (ns: number) => Number((NS + BigInt(ns)) / 1000n);
export function span(spanId: string, kind: SpanRecord['kind'], startNs: number, parent?: string, callId?: string, extra: Record<string, string | boolean> = {}): SpanRecord {
  const attrs = new Map<string, string | number | boolean>(Object.entries(extra));
  if (callId) attrs.set('faas.invocation_id', callId);
  const r: SpanRecord = { traceId: T, spanId, name: `op ${spanId}`, kind, start: µs(startNs), end: µs(startNs + 1000), status: 'ok', attrs };
  if (parent) r.parentSpanId = parent;
  return r;
}

export function scenario(): { a: Batch[]; b: Batch[] } {
  const na = new FakeNode('node-a', 'node-a:0001');
  const nb = new FakeNode('node-b', 'node-b:0001');
  na.serve(10, 'call-A', 1_000_000, 9_000_000);
  nb.serve(20, 'call-B', 2_000_000, 8_000_000);
  na.serve(30, 'call-C', 3_000_000, 4_000_000);
  na.serve(31, 'call-C', 5_000_000, 6_000_000); // the retry, on another instance
  const a1 = na.spans.bind(na);
  a1(span('a000000000000001', 'server', 1_000_000, undefined, 'call-A', { 'faas.trigger': 'http', 'faas.coldstart': true, 'faas.name': 'fn-call-A' }));
  const batchesA = [na.cut()];
  a1(span('a000000000000002', 'client', 1_500_000, 'a000000000000001'));
  batchesA.push(na.cut());
  nb.spans(span('b000000000000001', 'server', 2_000_000, 'a000000000000002', 'call-B', { 'faas.name': 'not-what-runs' }), span('b000000000000002', 'producer', 2_500_000, 'b000000000000001'));
  const batchesB = [nb.cut()];
  a1(span('c000000000000001', 'consumer', 3_000_000, 'b000000000000002', 'call-C', { 'faas.trigger': 'pubsub' }), span('c000000000000002', 'consumer', 5_000_000, 'b000000000000002', 'call-C'));
  batchesA.push(na.cut());
  return { a: batchesA, b: batchesB };
}

