import { describe, expect, it } from '@jest/globals';
import { invocationId, parseBatch, type InvocationNode, type SpanNode } from '@faasprov/model';
import { AppLayer } from './app-layer.js';
import { GraphBuffer } from './graph-buffer.js';
import { Observer } from './observer.js';
import { parseLine } from '../sensor/parse.js';
import type { SpanRecord } from '../otlp/decode.js';

const OFFSET = 1_700_000_000_000_000_000n;
const us = (ns: number) => Number((OFFSET + BigInt(ns)) / 1000n);

function setup(waitMs = 60000, maxPending?: number) {
  const buf = new GraphBuffer();
  const obs = new Observer({ node: 'n1', agent: 'n1:a', clockOffsetNs: OFFSET, rootCwd: '/' }, buf);
  const app = new AppLayer({ node: 'n1', waitMs, maxPending }, obs, buf);
  const lines = (...ls: string[]) => ls.forEach((l) => obs.handle(parseLine(l)));
  lines('X\t1000\t10\t1\t1\t0\t0\t/usr/bin/python3', 'O\t1100\t10\t3\t1\t-100\t/dev/null');
  return { buf, obs, app, lines };
}

function server(callId: string, startNs: number, endNs: number, extra: Record<string, string | boolean> = {}): SpanRecord {
  return {
    traceId: 'ab'.repeat(16), spanId: `${startNs}`.padStart(16, '0').slice(-16), name: 'serve', kind: 'server', start: us(startNs), end: us(endNs), status: 'ok',
    attrs: new Map<string, string | boolean>([['faas.invocation_id', callId], ...Object.entries(extra)]),
  };
}

describe('AppLayer (spans beside the kernel)', () => {
  it('holds a span until the kernel shows its unit, then joins it', () => {
    const { buf, app, lines } = setup();
    app.accept([server('c1', 2_000_000, 9_000_000, { 'faas.trigger': 'http' })]);
    app.drain();
    expect(app.size).toBe(1); // the markers are not processed yet
    lines('m\t2000000\t10\t10\tfaasprov:B:c1 fn', 'm\t9000000\t10\t10\tfaasprov:E:c1');
    app.drain();
    expect(app.size).toBe(0);
    const b = parseBatch(buf.cut('n1:a', 0));
    const inv = b.nodes.find((n) => n.id === invocationId('c1')) as InvocationNode;
    expect(inv).toMatchObject({ start: us(2_000_000), appStart: us(2_000_000), appTrigger: 'http', appDuration: 7000 });
    expect(inv.contradictions).toBeUndefined();
    const span = b.nodes.find((n) => n.type === 'Span') as SpanNode;
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'PART_OF', from: span.id, to: inv.id }));
  });

  it('flags what the kernel contradicts: no unit, times apart, a cold start after served invocations', () => {
    const { buf, app, lines } = setup(0);
    lines('m\t2000000\t10\t10\tfaasprov:B:c1 fn', 'm\t3000000\t10\t10\tfaasprov:E:c1', 'm\t4000000\t10\t10\tfaasprov:B:c2 fn', 'm\t5000000\t10\t10\tfaasprov:E:c2');
    app.accept([server('c2', 9_000_000_000, 9_100_000_000, { 'faas.coldstart': true }), server('ghost', 4_000_000, 5_000_000)]);
    app.drain();
    const b = parseBatch(buf.cut('n1:a', 0));
    const c2 = b.nodes.find((n) => n.id === invocationId('c2')) as InvocationNode;
    expect(c2.contradictions).toEqual([
      expect.stringMatching(/^time: the server span .* does not overlap the kernel's unit/),
      "coldStart: the span says cold start; the kernel saw its process finish 1 invocations before",
    ]);
    const ghost = b.nodes.find((n) => n.id === invocationId('ghost')) as InvocationNode;
    expect(ghost.contradictions).toEqual(['kernel: no unit of this call id was seen on node n1']);
    expect(b.nodes.find((n) => n.type === 'Span' && n.callId === 'ghost')).toMatchObject({ unitSeen: false });
  });

  it('refuses spans over its queue as an otlp-queue-full Gap', () => {
    const { buf, obs, app } = setup(60000, 1);
    expect(app.accept([server('a', 1, 2), server('b', 3, 4), server('c', 5, 6)])).toBe(1);
    obs.flushLosses();
    const b = parseBatch(buf.cut('n1:a', 0));
    expect(b.nodes).toContainEqual(expect.objectContaining({ type: 'Gap', cause: 'otlp-queue-full', count: 2 }));
  });

  it('joins a retried call id\'s spans to the attempt that ran when each began', () => {
    const { buf, app, lines } = setup(0);
    // Two attempts seconds apart (more than the clocks' slack).
    lines('m\t2000000000\t10\t10\tfaasprov:B:r fn', 'm\t3000000000\t10\t10\tfaasprov:E:r', 'm\t6000000000\t10\t10\tfaasprov:B:r fn', 'm\t7000000000\t10\t10\tfaasprov:E:r');
    app.accept([server('r', 2_000_000_000, 3_000_000_000), server('r', 6_000_000_000, 7_000_000_000)]);
    app.drain();
    const b = parseBatch(buf.cut('n1:a', 0));
    expect(b.nodes.filter((n) => n.type === 'Unit')).toHaveLength(2);
    expect((b.nodes.find((n) => n.id === invocationId('r')) as InvocationNode).contradictions).toBeUndefined();
  });
});
