import { describe, expect, it } from '@jest/globals';
import { parseBatch } from '@faasprov/model';
import { GraphBuffer } from './graph-buffer.js';
import { Observer, type InstanceFacts } from './observer.js';
import { parseLine } from '../sensor/parse.js';
import { gatewayTargets, receiverKeys, telemetryTargets } from './platform-endpoints.js';

describe("the platform's endpoints", () => {
  it("reads where an environment sends its spans: the per-signal URL first, IP literals and localhost (a name only through the instance's hosts file), OTLP/HTTP's port by default", () => {
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://10.213.7.1:4318']]))).toEqual(['10.213.7.1:4318']);
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://[fd00::1]:9999/v1/traces'], ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://10.0.0.1']]))).toEqual(['10.0.0.1:4318', 'fd00::1:9999']);
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://localhost:4318/']]))).toEqual(['127.0.0.1:4318', '::1:4318']);
    // A name would need the instance's resolver; nonsense is no target.
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://otel-collector:4318']]))).toEqual([]);
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url']]))).toEqual([]);
    expect(receiverKeys('127.0.0.1', 4318)).toEqual(['127.0.0.1:4318']);
  });

  it("reads the gateway from OpenFaaS's gateway_url, a name resolved by the instance's own hosts file only", () => {
    const hosts = '127.0.0.1\tlocalhost\n# 10.9.9.9 gateway.openfaas\n10.213.7.1\tgateway.openfaas gateway.openfaas.svc\n';
    expect(gatewayTargets(new Map([['gateway_url', 'http://gateway.openfaas:8080']]), hosts)).toEqual(['10.213.7.1:8080']);
    expect(gatewayTargets(new Map([['gateway_url', 'http://gateway.openfaas:8080']]))).toEqual([]);
    expect(gatewayTargets(new Map([['gateway_url', 'http://10.0.0.1']]))).toEqual(['10.0.0.1:80']);
    expect(telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://gateway.openfaas.svc:4318']]), hosts)).toEqual(['10.213.7.1:4318']);
    expect(receiverKeys('::1', 4318)).toEqual(['::1:4318']);
    expect(receiverKeys('127.0.0.1', 0)).toEqual([]);
  });

  it("marks the telemetry receiver and the gateway an instance's environment names, and the agent's own receiver from the host's namespace; other endpoints are not", () => {
    const buf = new GraphBuffer();
    const facts: Record<number, InstanceFacts> = { 50: { function: 'f', addresses: ['10.0.0.5'], telemetry: ['10.0.0.1:4318'], gateway: ['10.0.0.1:8080'] }, 60: { function: 'g' } };
    const obs = new Observer(
      { node: 'n1', agent: 'n1:a', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: (pid) => facts[pid] ?? {} }, telemetry: new Set(['127.0.0.1:4318']) },
      buf,
    );
    for (const l of [
      'X\t1000\t50\t1\t1\t0\t0\t/usr/bin/python3',
      'X\t1200\t60\t1\t1\t0\t0\t/usr/bin/node',
      'K\t2000\t50/51\t5\t2\t4318\t10.0.0.1',
      'W\t2100\t50/51\t1\t5\t300',
      'K\t2200\t50/50\t6\t2\t8080\t10.0.0.1',
      'K\t2300\t60/60\t5\t2\t4318\t127.0.0.1',
      'K\t2400\t60/60\t6\t2\t4318\t10.0.0.2',
    ]) obs.handle(parseLine(l));
    const b = parseBatch(buf.cut('n1:a', 0));
    const ep = (address: string, port: number) => b.nodes.find((n) => n.type === 'Endpoint' && n.address === address && n.port === port);
    expect(ep('10.0.0.1', 4318)).toMatchObject({ role: 'telemetry' });
    expect(ep('127.0.0.1', 4318)).toMatchObject({ role: 'telemetry' });
    expect(ep('10.0.0.1', 8080)).toMatchObject({ role: 'gateway' });
    expect(ep('10.0.0.2', 4318)).not.toHaveProperty('role');
    // What was sent there is still recorded, as any write.
    expect(b.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: ep('10.0.0.1', 4318)!.id }));
  });
});

describe('attribution of telemetry traffic (attribution.ts rule 6)', () => {
  it("charges a span exporter's thread to the process image, exactly, while one invocation is open; that thread's other traffic stays rule 5's inferred charge", () => {
    const buf = new GraphBuffer();
    const facts: Record<number, InstanceFacts> = { 50: { function: 'f', telemetry: ['10.0.0.1:4318'] } };
    const obs = new Observer({ node: 'n1', agent: 'n1:a', clockOffsetNs: 0n, rootCwd: '/', instances: { mode: 'process-tree', describe: (pid) => facts[pid] ?? {} } }, buf);
    for (const l of [
      'X\t1000\t50\t1\t1\t0\t0\t/usr/bin/python3',
      'O\t1100\t50\t3\t1\t-100\t/dev/null',
      // Invocation a opens on thread 50; thread 51, the exporter, started before it.
      'm\t2000\t50\t50\tfaasprov:B:call-a fn',
      'K\t2100\t50/51\t5\t2\t4318\t10.0.0.1',
      'W\t2200\t50/51\t1\t5\t300',
      'R\t2300\t50/51\t1\t5\t20',
      'K\t2400\t50/51\t6\t2\t9000\t10.0.0.2',
      'W\t2500\t50/51\t1\t6\t10',
    ]) obs.handle(parseLine(l));
    const b = parseBatch(buf.cut('n1:a', 0));
    const proc = b.nodes.find((n) => n.type === 'Process' && n.pid === 50)!;
    const unit = b.nodes.find((n) => n.type === 'Unit' && n.callId === 'call-a')!;
    const ep = (port: number) => b.nodes.find((n) => n.type === 'Endpoint' && n.port === port)!;
    const touching = (id: string) => b.edges.filter((e) => e.from === id || e.to === id).map((e) => ({ type: e.type, by: e.from === id ? e.to : e.from, attrs: e.attrs }));
    expect(touching(ep(4318).id).sort((x, y) => x.type.localeCompare(y.type))).toEqual([
      { type: 'USED', by: proc.id, attrs: { initiated: true } },
      { type: 'WAS_GENERATED_BY', by: proc.id, attrs: undefined },
    ]);
    expect(touching(ep(9000).id).sort((x, y) => x.type.localeCompare(y.type))).toEqual([
      { type: 'USED', by: unit.id, attrs: { inferred: true, initiated: true } },
      { type: 'WAS_GENERATED_BY', by: unit.id, attrs: { inferred: true } },
    ]);
  });
});
