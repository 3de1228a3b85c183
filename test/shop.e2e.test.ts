/**
 * Issue 20: the example shop (examples/shop) on the real templates, of-watchdog and agent; benign
 * traffic raises no alert; attack (a), run by `faasprov demo --attack a`, raises an alert that
 * leads, with the attack view, to every node and edge of its ground truth (root).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AlertNode } from '@faasprov/model';
import { FAASPROV, ROOT, tempDir } from './helpers.js';
import { Agent, Collector, freePort, readStore, until } from './agent-harness.js';
import { addTemplates, ensureOpenfaasTools, OF_WATCHDOG, Stack } from './openfaas-harness.js';
import { benignTraffic, type GroundTruth } from '../cli/src/commands/demo.js';

const SHOP = join(ROOT, 'examples', 'shop');
const PY = join(ROOT, '.tools', 'pyvenv', 'bin', 'python');

describe('the example shop under faasprov: benign traffic, then attack (a)', () => {
  let dir: string;
  let collector: Collector;
  let agent: Agent;
  let stack: Stack;
  let benign: GroundTruth['benign'] = [];
  let benignAlerts: AlertNode[] = [];

  const alerts = async (): Promise<AlertNode[]> => {
    const r = await execa(FAASPROV, ['alerts', '--store', collector.store, '--json', '--limit', '500'], { reject: false });
    expect(r.exitCode).toBe(0);
    return (JSON.parse(r.stdout) as { alerts: AlertNode[] }).alerts;
  };

  beforeAll(async () => {
    await ensureOpenfaasTools();
    dir = tempDir('fp-shop-');
    for (const f of ['stack.yaml', 'seed.py', '.secrets', 'purchase', 'get-price', 'authorize-cc', 'publish', 'catalog']) cpSync(join(SHOP, f), join(dir, f), { recursive: true });
    addTemplates(dir, join(ROOT, 'openfaas-templates'), ['node24-faasprov', 'python3-http-faasprov']);
    await execa(PY, [join(dir, 'seed.py'), join(dir, 'data')]);
    // Only this test's instances are watched: of-watchdog under a comm of our own.
    const comm = `fpshop${Math.random().toString(16).slice(2, 7)}`;
    copyFileSync(OF_WATCHDOG, join(dir, comm));
    collector = new Collector(join(dir, 'store.db'), await freePort());
    await collector.start();
    const otlp = await freePort();
    mkdirSync(join(dir, 'data', 'catalog'), { recursive: true });
    agent = new Agent(collector.url, join(dir, 'spool'), comm, await freePort(), ['--batch-interval', '200', '--otlp', `127.0.0.1:${otlp}`, '--volume', `${join(dir, 'data', 'catalog')}=catalog:durable`]);
    await agent.start();
    stack = new Stack(dir, ['--watchdog', join(dir, comm), '--otlp', `127.0.0.1:${otlp}`]);
    await stack.up(600000);
    benign = await benignTraffic(stack.info!.gateway, 4);
    await until('the benign invocations', () => {
      const s = readStore(collector.store);
      return benign.every((b) => s.nodes.some((n) => n.type === 'Invocation' && n.callId === b.callId));
    }, 60000);
    await new Promise((r) => setTimeout(r, 2000));
    benignAlerts = await alerts();
  }, 900000);

  afterAll(async () => {
    if (stack?.stateExists()) await stack.down();
    await agent?.stop();
    await collector?.stop();
  }, 120000);

  it('benign traffic (purchases through get-price, authorize-cc and async publish; catalog files on the volume) raises no alert about any invocation', () => {
    const s = readStore(collector.store);
    const unitsOfInvocations = new Set(s.nodes.filter((n) => n.type === 'Unit' && n.callId !== undefined).map((n) => n.id));
    expect(benign.filter((b) => b.function === 'purchase')).toHaveLength(4);
    expect(benignAlerts.filter((a) => unitsOfInvocations.has(a.subject))).toEqual([]);
    // What rules may still note outside invocations: the start-up read of the payment key, capture gaps.
    expect(benignAlerts.filter((a) => a.rule !== 'capture-gap' && !a.summary.includes('/var/openfaas/secrets/payment-key'))).toEqual([]);
  });

  it('the secret is mounted the OpenFaaS way: authorize-cc read /var/openfaas/secrets/payment-key', () => {
    const s = readStore(collector.store);
    expect(s.nodes.some((n) => n.type === 'File' && n.path === '/var/openfaas/secrets/payment-key')).toBe(true);
  });

  it('attack (a): the alert leads, with view=attack, to every ground-truth node and edge (recall 1.0)', async () => {
    const truthFile = join(dir, 'truth.json');
    const r = await execa(FAASPROV, ['demo', '--attack', 'a', '-f', join(dir, 'stack.yaml'), '--store', collector.store, '--truth', truthFile, '--json', '--wait-s', '90'], { reject: false, timeout: 240000 });
    expect([r.exitCode, r.exitCode === 0 ? '' : r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { alert: AlertNode; invocation: string; view: { nodes: { id: string; type: string }[]; edges: { type: string; from: string; to: string }[] }; truth: GroundTruth };
    const { alert, view, truth } = out;
    expect(truth.stolen).toContain('4111111111111111');
    const s = readStore(collector.store);
    const unitsOf = (callId: string) => s.nodes.filter((n) => n.type === 'Unit' && n.callId === callId);
    const invOf = (callId: string) => s.nodes.filter((n) => n.type === 'Invocation' && n.callId === callId);
    const [plantUnits, victimUnits] = [unitsOf(truth.plant), unitsOf(truth.victim)];
    const payload = s.nodes.filter((n) => n.type === 'File' && n.path === truth.payload && Number(n.version) > 0);
    const attacker = s.nodes.filter((n) => n.type === 'Endpoint' && n.address === truth.attacker.address && n.port === truth.attacker.port);
    for (const set of [plantUnits, victimUnits, payload, attacker, invOf(truth.plant), invOf(truth.victim)]) expect(set.length).toBeGreaterThan(0);
    // The alert is about the innocent invocation, and its view is the one the demo printed.
    expect(victimUnits.map((u) => u.id)).toContain(alert.subject);
    expect(invOf(truth.victim).map((n) => n.id)).toContain(out.invocation);

    const shown = new Set(view.nodes.map((n) => n.id));
    const truthNodes = [...plantUnits, ...victimUnits, ...payload, ...attacker, ...invOf(truth.plant), ...invOf(truth.victim)];
    expect(truthNodes.filter((n) => !shown.has(n.id)).map((n) => `${n.type} ${n.id}`)).toEqual([]);
    const has = (type: string, from: { id: string }[], to: { id: string }[]) => view.edges.some((e) => e.type === type && from.some((f) => f.id === e.from) && to.some((t) => t.id === e.to));
    const names: Record<string, { id: string }[]> = { plant: plantUnits, victim: victimUnits, payload, attacker };
    for (const [type, from, to] of truth.edges) expect([type, from, to, has(type, names[from]!, names[to]!)]).toEqual([type, from, to, true]);
  }, 300000);
});
