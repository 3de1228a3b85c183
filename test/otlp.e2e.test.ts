import { describe, expect, it, afterAll } from '@jest/globals';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { invocationId } from '@faasprov/model';
import { Agent, Collector, fakeWatchdog, freePort, readStore, until } from './agent-harness.js';
import { ROOT, pythonExe, tempDir } from './helpers.js';

const PY = join(ROOT, '.tools/pyvenv/bin/python');

// Real bpftrace and agent, real collector, and the official OpenTelemetry Python SDK as the client.
describe("the agent's OTLP receiver (real agent, official OpenTelemetry SDK)", () => {
  const dir = tempDir('fp-otlp-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('turns spans of the SDK into app-layer facts of the invocations they name, and stitches caller to callee', async () => {
    const wd = fakeWatchdog(dir, 'fpwdotel');
    const collector = new Collector(join(dir, 's.db'), await freePort());
    await collector.start();
    const otlpPort = await freePort();
    const agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdotel', await freePort(), ['--otlp', `127.0.0.1:${otlpPort}`]);
    try {
      await agent.start();
      const [caller, callee] = [`otel-a-${process.pid}`, `otel-b-${process.pid}`];
      // The watched function serves both invocations, one thread each (markers as the template
      // shim writes them), while the client's spans are made.
      const fn = join(dir, 'fn.py');
      const go = join(dir, 'go');
      writeFileSync(fn, [
        'import os, sys, threading, time',
        "d = os.open('/dev/null', os.O_WRONLY)",
        'def serve(c):',
        "    os.write(d, ('faasprov:B:%s' % c).encode())",
        "    open(os.path.join(os.path.dirname(sys.argv[0]), c + '.txt'), 'w').write(c)",
        `    while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)`,
        "    os.write(d, ('faasprov:E:%s' % c).encode())",
        'ts = [threading.Thread(target=serve, args=(c,)) for c in sys.argv[1:]]',
        'for t in ts: t.start()',
        'for t in ts: t.join()',
      ].join('\n'));
      const run = execa(wd, ['-c', `${await pythonExe()} ${fn} ${caller} ${callee}`], { reject: false, env: { FAASPROV_FUNCTION: 'otel-fn' } });
      await until('the function to serve', () => existsSync(join(dir, `${callee}.txt`)) && existsSync(join(dir, `${caller}.txt`)));
      const sdk = await execa(PY, [join(ROOT, 'test/fixtures/otel_client.py'), `http://127.0.0.1:${otlpPort}/v1/traces`, caller, callee, 'otel-fn'], { reject: false });
      writeFileSync(go, '');
      expect((await run).exitCode).toBe(0);
      expect(sdk.stderr).toBe('');
      const traceId = sdk.stdout.trim().split('-')[1]!;
      const inv = (callId: string) => readStore(collector.store).nodes.find((n) => n.id === invocationId(callId));
      await until('the spans in the store', () => inv(callee)?.traceId !== undefined && inv(caller)?.traceId !== undefined, 60000);
      expect(await agent.metric('faasprov_agent_spans_received_total')).toBe(3);
      const s = readStore(collector.store);
      const [a, b] = [inv(caller)!, inv(callee)!];
      // What the spans say, beside what the kernel saw (the unit's markers, the instance's function).
      expect(a).toMatchObject({ callId: caller, function: 'otel-fn', appFunction: 'otel-fn', appTrigger: 'http', appColdStart: true, appStatus: 'unset', traceId });
      expect(b).toMatchObject({ callId: callee, appColdStart: false, traceId });
      expect(a.contradictions).toBeUndefined();
      expect(Number(a.appDuration)).toBeGreaterThanOrEqual(10_000);
      const spans = s.nodes.filter((n) => n.type === 'Span' && n.traceId === traceId);
      expect(spans.map((x) => x.kind).sort()).toEqual(['client', 'server', 'server']);
      expect(spans.every((x) => x.node === 'node-test' && x.unitSeen === undefined)).toBe(true);
      const units = s.nodes.filter((n) => n.type === 'Unit' && (n.callId === caller || n.callId === callee));
      expect(units).toHaveLength(2);
      // Stitched through the traceparent the client span put on the call.
      expect(s.edges.filter((e) => e.type === 'WAS_INFORMED_BY' && e.src === b.id && e.dst === a.id)).toHaveLength(1);
    } finally {
      await agent.stop();
      await collector.stop();
    }
  }, 240000);

  it('faasprov run --otlp: the command\'s own spans join its invocation in the printed graph', async () => {
    const fn = join(dir, 'self.py');
    writeFileSync(fn, [
      'import os, sys',
      'from opentelemetry import trace',
      'from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter',
      'from opentelemetry.sdk.trace import TracerProvider',
      'from opentelemetry.sdk.trace.export import SimpleSpanProcessor',
      'p = TracerProvider()',
      'p.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))',
      "d = os.open('/dev/null', os.O_WRONLY)",
      "os.write(d, b'faasprov:B:run-call self')",
      "with p.get_tracer('t').start_as_current_span('serve', kind=trace.SpanKind.SERVER, attributes={'faas.invocation_id': 'run-call', 'faas.trigger': 'timer'}):",
      "    open(sys.argv[2], 'w').write('x')",
      "os.write(d, b'faasprov:E:run-call')",
      'p.shutdown()',
    ].join('\n'));
    const port = await freePort();
    const out = join(dir, 'run.json');
    const r = await execa(join(ROOT, 'cli/bin/faasprov'), ['run', '--store', join(dir, 'run.db'), '--otlp', `127.0.0.1:${port}`, '--format', 'json', '--out', out, '--', PY, fn, `http://127.0.0.1:${port}/v1/traces`, join(dir, 'self.txt')], { reject: false });
    expect(r.exitCode).toBe(0);
    const g = JSON.parse(readFileSync(out, 'utf8')) as { nodes: { type: string; [k: string]: unknown }[] };
    expect(g.nodes.find((n) => n.type === 'Invocation' && n.callId === 'run-call')).toMatchObject({ appTrigger: 'timer', function: 'self' });
    expect(g.nodes.filter((n) => n.type === 'Span' && n.callId === 'run-call')).toHaveLength(1);
  }, 120000);
});
