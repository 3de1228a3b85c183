/**
 * Issue 18's acceptance: the faasprov templates built by the real faas-cli, run by `functions up`
 * under the real of-watchdog with the real agent watching, and what the graph then says (root).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ALL_TENANTS } from '@faasprov/model';
import { openGraphStore, type GraphStore } from '@faasprov/store';
import { trace } from '@faasprov/graph-service';
import { FAASPROV, ROOT, tempDir } from './helpers.js';
import { Agent, Collector, freePort, readStore, until } from './agent-harness.js';
import { addTemplates, ensureOpenfaasTools, newStack, OF_WATCHDOG, Stack } from './openfaas-harness.js';
import { attributionAccuracy, concurrentRound } from '../bench/src/benchmarks/attribution.js';

const TEMPLATES = join(ROOT, 'openfaas-templates');
const HANDLERS = join(ROOT, 'test', 'fixtures', 'openfaas', 'handlers');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

type Stored = ReturnType<typeof readStore>;
type N = Stored['nodes'][number];

const invocationOf = (s: Stored, callId: string) => s.nodes.filter((n) => n.type === 'Invocation' && n.callId === callId);
// Units only: an invocation's Span is PART_OF it too, and arrives whenever the template's exporter sends it.
const unitsOf = (s: Stored, inv: N) =>
  s.edges.filter((e) => e.type === 'PART_OF' && e.dst === inv.id).map((e) => s.nodes.find((n) => n.id === e.src)!).filter((n) => n.type === 'Unit');
const fileNodes = (s: Stored, path: string) => s.nodes.filter((n) => n.type === 'File' && n.path === path);
const generators = (s: Stored, file: N) => s.edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.src === file.id).map((e) => s.nodes.find((n) => n.id === e.dst)!);
const users = (s: Stored, file: N) => s.edges.filter((e) => e.type === 'USED' && e.dst === file.id).map((e) => s.nodes.find((n) => n.id === e.src)!);

describe('OpenFaaS for real: templates, functions up, the agent, stitching', () => {
  let dir: string;
  let data: string;
  let store: string;
  let collector: Collector;
  let agent: Agent;
  let stack: Stack;
  let graph: GraphStore;

  beforeAll(async () => {
    await ensureOpenfaasTools();
    dir = tempDir('fp-openfaas-');
    data = join(dir, 'data');
    mkdirSync(data);
    addTemplates(dir, TEMPLATES, ['node24-faasprov', 'python3-http-faasprov']);
    await newStack(dir, [
      { name: 'fa', lang: 'node24-faasprov', handler: 'chain-a.js' },
      { name: 'fb', lang: 'python3-http-faasprov', handler: 'chain-b.py' },
      { name: 'fc', lang: 'node24-faasprov', handler: 'chain-c.js' },
      { name: 'wn', lang: 'node24-faasprov', handler: 'files.js' },
      { name: 'wp', lang: 'python3-http-faasprov', handler: 'files.py' },
      { name: 'kn', lang: 'node24-faasprov', handler: 'files.js', environment: { max_inflight: '8' } },
      { name: 'kp', lang: 'python3-http-faasprov', handler: 'files.py', environment: { max_inflight: '8' } },
    ], HANDLERS);
    // The agent watches only this test's instances: the real of-watchdog under a comm of our own.
    const comm = `fpof${Math.random().toString(16).slice(2, 8)}`;
    const watchdog = join(dir, comm);
    copyFileSync(OF_WATCHDOG, watchdog);
    store = join(dir, 'store.db');
    collector = new Collector(store, await freePort());
    await collector.start();
    const otlp = await freePort();
    const help = (await execa(FAASPROV, ['agent', '--help'])).stdout;
    agent = new Agent(collector.url, join(dir, 'spool'), comm, await freePort(), ['--batch-interval', '200', ...(help.includes('--otlp') ? ['--otlp', `127.0.0.1:${otlp}`] : [])]);
    await agent.start();
    stack = new Stack(dir, ['--watchdog', watchdog, '--otlp', `127.0.0.1:${otlp}`]);
    await stack.up(600000);
    graph = await openGraphStore(`sqlite:${store}`);
  }, 900000);

  afterAll(async () => {
    await graph?.close();
    if (stack?.stateExists()) await stack.down();
    await agent?.stop();
    await collector?.stop();
    // Its functions' dependencies take about 100 MB.
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120000);

  it('faas-cli new and build --shrinkwrap made both templates\' build folders, each running under of-watchdog', () => {
    for (const f of stack.info!.functions) {
      expect(f.instances).toHaveLength(1);
      expect(stack.log(f.name)).toMatch(/Watchdog mode: http/);
    }
    expect(stack.info!.functions.map((f) => f.name)).toEqual(['fa', 'fb', 'fc', 'wn', 'wp', 'kn', 'kp']);
  });

  let chain: { a: string; b: string; c: string } | undefined;
  const chainFile = (id: string) => join(data, `${id === chain!.a ? 'a' : id === chain!.b ? 'b' : 'c'}-${id}.txt`);

  /** A (node) → B (python, sync through the gateway) → C (node, async through the gateway), once. */
  async function runChain(): Promise<{ a: string; b: string; c: string }> {
    if (chain) return chain;
    const r = await fetch(stack.url('/function/fa'), {
      method: 'POST',
      body: JSON.stringify({ dir: data }),
      headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    expect(r.status).toBe(200);
    const ids = (await r.json()) as { a: string; b: string; bSaw: string; c: string };
    expect(ids.a).toBe(r.headers.get('x-call-id'));
    expect(ids.bSaw).toBe(ids.b);
    chain = { a: ids.a, b: ids.b, c: ids.c };
    await until('the three invocations and their files', () => {
      const s = readStore(store);
      return [ids.a, ids.b, ids.c].every((id) => invocationOf(s, id).length === 1 && fileNodes(s, chainFile(id)).length > 0 && unitsOf(s, invocationOf(s, id)[0]!).length > 0);
    }, 60000);
    return chain;
  }

  it('chain A (node) → B (python) → async C (node): three invocations with the call ids the client saw, each one\'s file writes and outgoing calls on its own units', async () => {
    const ids = await runChain();
    expect(new Set([ids.a, ids.b, ids.c]).size).toBe(3);
    const s = readStore(store);
    const [a, b, c] = [ids.a, ids.b, ids.c].map((id) => invocationOf(s, id)[0]!);
    expect([a!.function, b!.function, c!.function]).toEqual(['fa', 'fb', 'fc']);
    // Each invocation's file was written by one of its own units, and by nothing else.
    for (const inv of [a!, b!, c!]) {
      const own = new Set(unitsOf(s, inv).map((u) => u.id));
      const by = fileNodes(s, chainFile(inv.callId as string)).flatMap((f) => generators(s, f));
      expect(by.length).toBeGreaterThan(0);
      for (const g of by) expect(own.has(g.id)).toBe(true);
    }
    // A and B called through the gateway's address on the stack's bridge, from their own units.
    const gatewayEndpoints = s.nodes.filter((n) => n.type === 'Endpoint' && typeof n.address === 'string' && /^10\.213\.\d+\.1$/.test(n.address) && n.port === 8080).map((n) => n.id);
    for (const inv of [a!, b!]) {
      const own = new Set(unitsOf(s, inv).map((u) => u.id));
      expect(s.edges.some((e) => own.has(e.src) && gatewayEndpoints.includes(e.dst))).toBe(true);
    }
  }, 180000);

  it('chain: each invocation carries what its server span says, beside the kernel, with no contradiction', async () => {
    const ids = await runChain();
    await until('the server spans', () => {
      const s = readStore(store);
      return [ids.a, ids.b, ids.c].every((id) => invocationOf(s, id)[0]?.spanId !== undefined);
    }, 60000);
    const s = readStore(store);
    const [a, b, c] = [ids.a, ids.b, ids.c].map((id) => invocationOf(s, id)[0]!);
    expect([a, b, c].map((i) => [i!.function, i!.appFunction, i!.appTrigger])).toEqual([['fa', 'fa', 'http'], ['fb', 'fb', 'http'], ['fc', 'fc', 'pubsub']]);
    for (const inv of [a!, b!, c!]) expect(inv.contradictions).toBeUndefined();
  }, 180000);

  it('chain: the request each invocation served (its socket from the watchdog) is on its own unit', async () => {
    const ids = await runChain();
    const s = readStore(store);
    for (const id of [ids.a, ids.b, ids.c]) {
      const own = new Set(unitsOf(s, invocationOf(s, id)[0]!).map((u) => u.id));
      // The connection the watchdog made to the wrapper's port on the instance's loopback (node 3000,
      // python 5000): the unit read the request from it and wrote the response to it.
      const served = (flow: string, type: string) => s.edges.filter((e) => {
        const c = s.nodes.find((n) => n.id === (type === 'USED' ? e.dst : e.src));
        return e.type === type && own.has(type === 'USED' ? e.src : e.dst) && c?.type === 'Connection' && c.flow === flow && /^127\.0\.0\.1:(3000|5000)$/.test(String(c.server));
      });
      expect(served('toServer', 'USED').length).toBeGreaterThan(0);
      expect(served('toClient', 'WAS_GENERATED_BY').length).toBeGreaterThan(0);
    }
  }, 180000);

  it('chain: C WAS_INFORMED_BY B WAS_INFORMED_BY A', async () => {
    const ids = await runChain();
    let s = readStore(store);
    const [a, b, c] = [ids.a, ids.b, ids.c].map((id) => invocationOf(s, id)[0]!);
    const informed = (from: N, to: N) => s.edges.some((e) => e.type === 'WAS_INFORMED_BY' && e.src === from.id && e.dst === to.id);
    await until('C informed by B informed by A', () => {
      s = readStore(store);
      return informed(b!, a!) && informed(c!, b!);
    }, 30000).catch(() => undefined);
    expect(informed(b!, a!)).toBe(true);
    expect(informed(c!, b!)).toBe(true);
    expect(informed(a!, b!)).toBe(false);
  }, 180000);

  it('chain: the run\'s spans (the client\'s trace id) are on the three invocations', async () => {
    const ids = await runChain();
    let s = readStore(store);
    await until('the spans', () => {
      s = readStore(store);
      return [ids.a, ids.b, ids.c].every((id) => JSON.stringify(invocationOf(s, id)[0]).includes(TRACE_ID));
    }, 30000).catch(() => undefined);
    for (const id of [ids.a, ids.b, ids.c]) expect(JSON.stringify(invocationOf(s, id)[0])).toContain(TRACE_ID);
  }, 180000);

  for (const [fn, template] of [['wn', 'node24-faasprov'], ['wp', 'python3-http-faasprov']] as const) {
    it(`warm reuse (${template}): invocation 2 reads the file version invocation 1's unit wrote, and its backward trace holds none of 1's unrelated activity`, async () => {
      const path = join(data, `warm-${fn}.txt`);
      const unrelated = join(data, `unrelated-${fn}.txt`);
      const after = join(data, `after-${fn}.txt`);
      writeFileSync(after, 'read by 1 after it wrote');
      const call = async (body: object) => {
        const r = await fetch(stack.url(`/function/${fn}`), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        expect(r.status).toBe(200);
        return { callId: r.headers.get('x-call-id')!, body: (await r.json()) as { me: string; content?: string } };
      };
      const one = await call({ op: 'write', path, unrelated, after });
      const two = await call({ op: 'read', path });
      expect(two.body.content).toBe(`written by ${one.callId}`);

      let s = readStore(store);
      await until('both invocations with their file operations', () => {
        s = readStore(store);
        const v = fileNodes(s, path);
        return v.some((f) => generators(s, f).length > 0 && users(s, f).length > 0) && fileNodes(s, after).some((f) => users(s, f).length > 0);
      }, 60000);
      const inv1 = invocationOf(s, one.callId)[0]!;
      const inv2 = invocationOf(s, two.callId)[0]!;
      const units1 = new Set(unitsOf(s, inv1).map((u) => u.id));
      const units2 = new Set(unitsOf(s, inv2).map((u) => u.id));
      const version = fileNodes(s, path).find((f) => generators(s, f).length > 0)!;
      expect(generators(s, version).every((g) => units1.has(g.id))).toBe(true);
      expect(users(s, version).some((u) => units2.has(u.id))).toBe(true);
      // The same instance served both (warm): their units ran in one process.
      const u1 = s.nodes.find((n) => units1.has(n.id))!;
      const u2 = s.nodes.find((n) => units2.has(n.id))!;
      expect([u2.pid, u2.processStart]).toEqual([u1.pid, u1.processStart]);

      const unit2 = [...units2].find((id) => users(s, version).some((u) => u.id === id))!;
      const back = await trace(graph, unit2, { direction: 'backward', scope: ALL_TENANTS });
      const ids = new Set(back.nodes.map((n) => n.id));
      expect(ids.has(version.id)).toBe(true);
      // 1's unit is there (it wrote the version), but only as it was when it wrote it: not what it read afterwards.
      expect(fileNodes(s, after).length).toBeGreaterThan(0);
      for (const f of [...fileNodes(s, unrelated), ...fileNodes(s, after)]) expect(ids.has(f.id)).toBe(false);
      // 2's request came from the watchdog, which relayed it from the gateway's connection (port 8080).
      expect(back.nodes.some((n) => n.type === 'Connection' && n.flow === 'toServer' && String(n.server).endsWith(':8080'))).toBe(true);
    }, 120000);
  }

  for (const [fn, template] of [['kn', 'node24-faasprov'], ['kp', 'python3-http-faasprov']] as const) {
    it(`concurrency 8 on one instance (${template}): every call's own paths are charged to its own invocation`, async () => {
      const callIds = [...(await concurrentRound(stack.info!.gateway, fn, data)), ...(await concurrentRound(stack.info!.gateway, fn, data))];
      let acc = attributionAccuracy(store, data, callIds);
      await until('every operation in the graph', () => {
        acc = attributionAccuracy(store, data, callIds);
        return acc.missing === 0;
      }, 60000).catch(() => undefined);
      expect(acc.missing).toBe(0);
      expect(acc.accuracy).toBeGreaterThanOrEqual(0.999);
    }, 180000);
  }

  it('a request re-sent with the same call id is two attempts of one invocation, each with its own units and effects', async () => {
    const callId = `retry-${Date.now()}`;
    const paths = [join(data, 'retry-1.txt'), join(data, 'retry-2.txt')];
    for (const p of paths) {
      const r = await fetch(stack.url('/function/wn'), { method: 'POST', body: JSON.stringify({ op: 'many', paths: [p] }), headers: { 'content-type': 'application/json', 'x-call-id': callId } });
      expect(r.headers.get('x-call-id')).toBe(callId);
      expect(r.status).toBe(200);
    }
    let s = readStore(store);
    await until('both attempts', () => {
      s = readStore(store);
      return paths.every((p) => fileNodes(s, p).some((f) => generators(s, f).length > 0));
    }, 60000);
    const invs = invocationOf(s, callId);
    expect(invs).toHaveLength(1);
    const units = unitsOf(s, invs[0]!);
    expect(units.length).toBe(2);
    const [g1, g2] = paths.map((p) => fileNodes(s, p).flatMap((f) => generators(s, f)).map((g) => g.id));
    expect(g1).toHaveLength(1);
    expect(g2).toHaveLength(1);
    expect(g1![0]).not.toBe(g2![0]);
    expect(units.map((u) => u.id).sort()).toEqual([g1![0], g2![0]].sort());
  }, 120000);
});
