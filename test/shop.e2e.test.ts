/**
 * Issue 20: the example shop (examples/shop) on the real templates, of-watchdog and agent; benign
 * traffic raises no alert; attacks (a) and (d), run by `faasprov demo --attack a|d`, each raise an
 * alert that leads, with the attack view, to every node and edge of its ground truth (root).
 * photos' CUDA calls go through the real libcudart of its dependencies (no GPU: they fail, and are seen).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { resolveTruth, type AlertNode, type GraphEdge, type GraphNode, type SerializedGraph } from '@faasprov/model';
import { FAASPROV, ROOT, tempDir } from './helpers.js';
import { Agent, Collector, freePort, readStore, until } from './agent-harness.js';
import { addTemplates, ensureOpenfaasTools, OF_WATCHDOG, Stack } from './openfaas-harness.js';
import { benignTraffic, type GroundTruth } from '../cli/src/commands/demo.js';
import { benignPhotos, type GpuGroundTruth } from '../cli/src/commands/demo-attack-d.js';
import { missingEdges, truthNodesByName, type ShopTruth } from '../cli/src/commands/demo-truth.js';

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
    for (const f of ['stack.yaml', 'seed.py', '.secrets', 'purchase', 'get-price', 'authorize-cc', 'publish', 'catalog', 'photos']) cpSync(join(SHOP, f), join(dir, f), { recursive: true });
    addTemplates(dir, join(ROOT, 'openfaas-templates'), ['node24-faasprov', 'python3-http-faasprov']);
    await execa(PY, [join(dir, 'seed.py'), join(dir, 'data')]);
    // Only this test's instances are watched: of-watchdog under a comm of our own.
    const comm = `fpshop${Math.random().toString(16).slice(2, 7)}`;
    copyFileSync(OF_WATCHDOG, join(dir, comm));
    // Built first, as make demo does: the agent probes photos' CUDA runtime (from its dependencies) from the start.
    const built = await execa(FAASPROV, ['functions', 'build', '-f', 'stack.yaml'], { cwd: dir, reject: false });
    expect([built.exitCode, built.exitCode === 0 ? '' : built.stderr]).toEqual([0, '']);
    const gpuLibs = (JSON.parse(built.stdout) as { functions: { name: string; gpuLibraries: string[] }[] }).functions.flatMap((f) => f.gpuLibraries.map((l) => [f.name, l]));
    expect(gpuLibs.map(([f, l]) => [f, l!.endsWith('/nvidia/cuda_runtime/lib/libcudart.so.12')])).toEqual([['photos', true]]);
    collector = new Collector(join(dir, 'store.db'), await freePort());
    await collector.start();
    const otlp = await freePort();
    mkdirSync(join(dir, 'data', 'catalog'), { recursive: true });
    agent = new Agent(collector.url, join(dir, 'spool'), comm, await freePort(), ['--batch-interval', '200', '--otlp', `127.0.0.1:${otlp}`, '--volume', `${join(dir, 'data', 'catalog')}=catalog:durable`, ...gpuLibs.flatMap(([, l]) => ['--gpu-lib', l!])]);
    await agent.start();
    stack = new Stack(dir, ['--no-build', '--watchdog', join(dir, comm), '--otlp', `127.0.0.1:${otlp}`]);
    await stack.up(600000);
    benign = [...await benignTraffic(stack.info!.gateway, 4), ...await benignPhotos(stack.info!.gateway, 3)];
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

  it('benign traffic (purchases through get-price, authorize-cc and async publish; catalog files on the volume; thumbnails through the GPU staging buffer) raises no alert about any invocation', () => {
    const s = readStore(collector.store);
    const unitsOfInvocations = new Set(s.nodes.filter((n) => n.type === 'Unit' && n.callId !== undefined).map((n) => n.id));
    expect(benign.filter((b) => b.function === 'purchase')).toHaveLength(4);
    expect(benign.filter((b) => b.function === 'photos')).toHaveLength(3);
    expect(benignAlerts.filter((a) => unitsOfInvocations.has(a.subject))).toEqual([]);
    // Nor about anything else (the start-up reads of the mounted payment key are its baseline); only lost capture may be noted.
    expect(benignAlerts.filter((a) => a.rule !== 'capture-gap')).toEqual([]);
  });

  it('the secret is mounted the OpenFaaS way: authorize-cc, purchase and publish read /var/openfaas/secrets/payment-key at start, their instances know it as theirs', () => {
    const s = readStore(collector.store);
    const key = s.nodes.find((n) => n.type === 'File' && n.path === '/var/openfaas/secrets/payment-key');
    expect(key).toBeDefined();
    const instances = s.nodes.filter((n) => n.type === 'Instance');
    for (const fn of ['authorize-cc', 'purchase', 'publish']) expect([fn, instances.find((i) => i.function === fn)?.secrets]).toEqual([fn, ['/var/openfaas/secrets']]);
    expect(instances.find((i) => i.function === 'get-price')?.secrets).toBeUndefined();
    // Read by processes, at start-up, not by units.
    const readers = s.edges.filter((e) => e.type === 'USED' && e.dst === key!.id).map((e) => s.nodes.find((n) => n.id === e.src)?.type);
    expect(readers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(readers)).toEqual(new Set(['Process']));
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

  it('photos: its CUDA calls are on its invocations\' units, with sizes, directions and the return codes of a machine with no GPU', () => {
    const s = readStore(collector.store);
    const photos = benign.filter((b) => b.function === 'photos').map((b) => s.nodes.find((n) => n.type === 'Unit' && n.callId === b.callId)!);
    expect(photos.every((u) => u !== undefined)).toBe(true);
    const buffers = s.nodes.filter((n) => n.type === 'GpuBuffer' && n.api === 'cudaMalloc');
    expect(buffers.map((b) => [b.size, Number(b.rc) > 0])).toEqual([[1048576, true]]);
    const [first, second] = photos;
    // The first thumbnail allocated the staging buffer and copied its 64 bytes in (a version of the buffer); the second copied in and read its own 64 bytes back.
    expect(s.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.src === buffers[0]!.id && e.dst === first!.id)).toMatchObject({ bytes: 0 });
    const versionBy = (u: { id: string }) => s.nodes.find((n) => n.type === 'GpuBuffer' && n.allocated === buffers[0]!.allocated && n.version !== undefined && s.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.src === n.id && e.dst === u.id))!;
    expect(s.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.src === versionBy(first!).id && e.dst === first!.id)).toMatchObject({ bytes: 64, attrs: { copyKind: 1 } });
    const readBack = s.edges.filter((e) => e.type === 'USED' && e.src === second!.id && s.nodes.some((n) => n.id === e.dst && n.type === 'GpuBuffer'));
    expect(readBack.map((e) => [e.dst, e.bytes, e.attrs.copyKind])).toEqual([[versionBy(second!).id, 64, 2]]);
    expect(Number(readBack[0]!.attrs.rc)).toBeGreaterThan(0);
  });

  it('attack (d): a GPU buffer left by one invocation and read by another; the alert leads, with view=attack, to every ground-truth node and edge (recall 1.0)', async () => {
    const truthFile = join(dir, 'truth-d.json');
    const r = await execa(FAASPROV, ['demo', '--attack', 'd', '-f', join(dir, 'stack.yaml'), '--store', collector.store, '--truth', truthFile, '--json', '--wait-s', '90'], { reject: false, timeout: 240000 });
    expect([r.exitCode, r.exitCode === 0 ? '' : r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { alert: AlertNode; invocation: string; view: { nodes: { id: string; type: string }[]; edges: { type: string; from: string; to: string }[]; steps: string[] }; truth: GpuGroundTruth };
    const { alert, view, truth } = out;
    expect(JSON.parse(readFileSync(truthFile, 'utf8'))).toEqual(truth);
    // No GPU here: the function says its calls failed, and the graph keeps them as attempts.
    expect(Object.values(truth.calls.reader).every((rc) => rc !== 0)).toBe(true);
    const s = readStore(collector.store);
    const unitsOf = (callId: string) => s.nodes.filter((n) => n.type === 'Unit' && n.callId === callId);
    const invOf = (callId: string) => s.nodes.filter((n) => n.type === 'Invocation' && n.callId === callId);
    const [writerUnits, readerUnits] = [unitsOf(truth.writer), unitsOf(truth.reader)];
    // The staging buffer's allocation, and the version the customer's copy made (the reader got its 256 bytes, the rest as allocated).
    const ofBuffer = (n: { type: string; [k: string]: unknown }) => n.type === 'GpuBuffer' && n.ptr === truth.buffer.ptr && n.size === truth.buffer.size && String(n.device).includes(`/${truth.buffer.pid}.`);
    const allocation = s.nodes.filter((n) => ofBuffer(n) && n.api === 'cudaMalloc');
    const written = s.nodes.filter((n) => ofBuffer(n) && n.version !== undefined && s.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.src === n.id && writerUnits.some((u) => u.id === e.dst)));
    const buffer = [...allocation, ...written];
    for (const set of [writerUnits, readerUnits, allocation, written, invOf(truth.writer), invOf(truth.reader)]) expect(set.length).toBeGreaterThan(0);
    // The ground truth as the attack-precision benchmark reads it names the same nodes.
    const refs = resolveTruth(truth.nodes, s.nodes as unknown as GraphNode[], s.edges.map((e) => ({ type: e.type as GraphEdge['type'], from: e.src, to: e.dst })));
    expect(refs.unmatched).toEqual([]);
    expect(refs.nodes.map((n) => n.id).sort()).toEqual([...writerUnits, ...readerUnits, ...buffer, ...invOf(truth.writer), ...invOf(truth.reader)].map((n) => n.id).sort());
    expect(alert).toMatchObject({ rule: 'gpu-buffer-cross-read', severity: 'critical', function: 'photos', object: written[0]!.id });
    expect(alert.summary).toContain(`written by invocation ${truth.writer} `);
    expect(readerUnits.map((u) => u.id)).toContain(alert.subject);
    expect(invOf(truth.reader).map((n) => n.id)).toContain(out.invocation);

    const shown = new Set(view.nodes.map((n) => n.id));
    const truthNodes = [...writerUnits, ...readerUnits, ...buffer, ...invOf(truth.writer), ...invOf(truth.reader)];
    expect(truthNodes.filter((n) => !shown.has(n.id)).map((n) => `${n.type} ${n.id}`)).toEqual([]);
    const has = (type: string, from: { id: string }[], to: { id: string }[]) => view.edges.some((e) => e.type === type && from.some((f) => f.id === e.from) && to.some((t) => t.id === e.to));
    const names: Record<string, { id: string }[]> = { writer: writerUnits, reader: readerUnits, buffer: written };
    for (const [type, from, to] of truth.edges) expect([type, from, to, has(type, names[from]!, names[to]!)]).toEqual([type, from, to, true]);
    // The story says the copies were attempted: the calls failed. The reader's 64 KiB: the customer's 256 bytes, the rest as allocated.
    expect(view.steps.find((st) => st.startsWith(`invocation ${truth.reader} copied 256 bytes out of GPU buffer ${truth.buffer.ptr}, written by invocation ${truth.writer} `))).toMatch(/the call failed: CUDA error \d+/);
    expect(view.steps.find((st) => st.startsWith(`invocation ${truth.reader} copied 65280 bytes out of GPU buffer ${truth.buffer.ptr} as allocated `))).toMatch(/the call failed: CUDA error \d+/);
    // No benign photos invocation (the one that allocated the buffer included) is in the view.
    const benignIds = new Set(benign.filter((b) => b.function === 'photos').map((b) => b.callId));
    expect(s.nodes.filter((n) => (n.type === 'Unit' || n.type === 'Invocation') && benignIds.has(String(n.callId)) && shown.has(n.id)).map((n) => n.callId)).toEqual([]);
    // Benign thumbnails, which read back what they uploaded, raised nothing.
    const benignPhotoUnits = new Set(s.nodes.filter((n) => n.type === 'Unit' && benign.some((b) => b.function === 'photos' && b.callId === n.callId)).map((n) => n.id));
    expect((await alerts()).filter((a) => benignPhotoUnits.has(a.subject))).toEqual([]);
  }, 300000);

  it("the dashboard (real Chromium) shows the alerts, the shop's functions with their invocations, and attack (a) as a story; screenshots in test/screenshots/last-run", async () => {
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as GroundTruth;
    const key = randomBytes(16).toString('hex');
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([{ name: 'demo', role: 'investigator', tenants: '*', key }]));
    // A second graph service on the demo's store, signed into with a key as make demo prints it.
    const port = await freePort();
    const up = execa(FAASPROV, ['up', '--store', collector.store, '--port', String(port), '--api-keys', join(dir, 'keys.json')], { reject: false });
    const browser = await chromium.launch({
      executablePath: process.env.FAASPROV_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
    });
    // The committed demo-*.png (README links them) change only when asked; a plain run leaves its own beside them, ignored by git.
    const shots = process.env.FAASPROV_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'test', 'screenshots') : join(ROOT, 'test', 'screenshots', 'last-run');
    mkdirSync(shots, { recursive: true });
    try {
      await until('the graph service', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30000);
      const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();

      // Alerts: attack (a)'s alert on authorize-cc and attack (d)'s on photos, each about its invocation.
      const rows = page.getByRole('table').getByRole('row');
      await page.getByRole('heading', { name: /^Alerts \(\d+\)$/ }).waitFor({ timeout: 30000 });
      const alertRows = await rows.allInnerTexts();
      expect(alertRows.some((r) => r.includes('code-from-another-invocation') && r.includes('authorize-cc') && r.includes(`invocation ${truth.victim}`))).toBe(true);
      expect(alertRows.some((r) => r.includes('gpu-buffer-cross-read') && r.includes('photos'))).toBe(true);
      await page.screenshot({ path: join(shots, 'demo-alerts.png'), fullPage: true });

      // Functions: every function of the shop, with the invocations it served.
      await page.getByRole('tab', { name: 'Functions' }).click();
      await page.getByRole('heading', { name: 'Functions and instances' }).waitFor();
      const fnRows = (await page.getByRole('table').getByRole('row').allInnerTexts()).slice(1).map((r) => r.split('\t'));
      const invocations = Object.fromEntries(fnRows.map((r) => [r[0]!.trim(), Number(r[4])]));
      for (const fn of ['purchase', 'get-price', 'authorize-cc', 'publish', 'catalog', 'photos']) expect([fn, invocations[fn]! > 0]).toEqual([fn, true]);
      await page.screenshot({ path: join(shots, 'demo-functions.png'), fullPage: true });

      // The attack as a story: Investigate on attack (a)'s alert opens its attack view and numbered steps.
      await page.getByRole('tab', { name: 'Alerts' }).click();
      await page.getByRole('button', { name: new RegExp(`^Investigate code-from-another-invocation invocation ${truth.victim} `) }).click();
      const steps = page.getByRole('list', { name: 'steps of the attack' });
      await steps.waitFor({ timeout: 60000 });
      const said = await steps.getByRole('listitem').allInnerTexts();
      expect(said.some((st) => st.startsWith(`invocation ${truth.plant} `) && st.includes(`wrote ${truth.payload}`))).toBe(true);
      expect(said.some((st) => st.startsWith(`invocation ${truth.victim} `) && st.includes(`read ${truth.payload}`))).toBe(true);
      // Traced back from the alert, the story ends at the load; it begins with the plugin fetched from the attacker.
      expect(said.some((st) => st.startsWith(`invocation ${truth.plant} `) && st.includes(`${truth.attacker.address}:${truth.attacker.port}`))).toBe(true);
      const graph = page.getByRole('img', { name: /^attack story: \d+ nodes$/ });
      await graph.waitFor();
      // Both invocations of the chain are boxes of the drawn story.
      expect(await graph.locator('[data-type="Invocation"]').count()).toBeGreaterThanOrEqual(2);
      // The steps panel scrolls: the picture shows where the chain begins (the plant's first step).
      await steps.getByRole('listitem').filter({ hasText: `invocation ${truth.plant} ` }).first().evaluate((li) => li.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: join(shots, 'demo-attack-story.png'), fullPage: true });
    } finally {
      await browser.close();
      up.kill('SIGTERM');
      await up;
    }
  }, 180000);

  /** Runs `faasprov demo --attack X` against the shop: its JSON output (alert, views, truth). */
  const demo = async (attack: string) => {
    const r = await execa(FAASPROV, ['demo', '--attack', attack, '-f', join(dir, 'stack.yaml'), '--store', collector.store, '--json', '--wait-s', '90'], { reject: false, timeout: 240000 });
    expect([attack, r.exitCode, r.exitCode === 0 ? '' : r.stderr]).toEqual([attack, 0, '']);
    return JSON.parse(r.stdout) as { alert: AlertNode; invocation: string; views: Record<string, ShownView>; truth: ShopTruth };
  };
  type ShownView = { nodes: { id: string; type: string }[]; edges: { type: string; from: string; to: string }[] };
  /** The stored graph in the model's shape. */
  const graph = (): SerializedGraph => {
    const s = readStore(collector.store);
    return {
      nodes: s.nodes as unknown as GraphNode[],
      edges: s.edges.map((e) => ({ id: e.id, type: e.type, from: e.src, to: e.dst, firstTime: e.first_time, lastTime: e.first_time, count: e.count, bytes: e.bytes, attrs: e.attrs })) as unknown as GraphEdge[],
    };
  };
  const shopTruths: ShopTruth[] = [];

  for (const [attack, what] of [['b', 'exfiltration through the shared F3 volume to catalog'], ['c', 'a reverse shell from authorize-cc'], ['e', 'the mounted shop key read in an invocation, then used to call publish through the gateway']] as const) {
    it(`attack (${attack}), ${what}: its alert leads, with view=attack, to every ground-truth node and edge (recall 1.0)`, async () => {
      const { alert, invocation, views, truth } = await demo(attack);
      shopTruths.push(truth);
      const g = graph();
      const names = truthNodesByName(g, truth);
      // Every name of the truth is in the graph at all, and the benchmark's references find the same nodes.
      expect(Object.entries(names).filter(([, ns]) => ns.length === 0).map(([name]) => name)).toEqual([]);
      const refs = resolveTruth(truth.nodes ?? [], g.nodes);
      expect(refs.unmatched).toEqual([]);
      const named = new Set(Object.values(names).flat().map((n) => n.id));
      expect(refs.nodes.filter((n) => !named.has(n.id) && n.type !== 'Process').map((n) => `${n.type} ${n.id}`)).toEqual([]);
      // The alert is one of the scenario's rules, about the alerted invocation (its unit, or a process it spawned).
      expect(truth.rules).toContain(alert.rule);
      const alerted = names[Object.entries(truth.invocations).find(([, c]) => c === truth.alerted)![0]]!;
      expect(alerted.filter((n) => n.type === 'Invocation').map((n) => n.id)).toContain(invocation);
      const concerned = [alert.subject, alert.object];
      const spawned = Object.values(truth.processes).length > 0 ? Object.keys(truth.processes).flatMap((k) => names[k]!.map((n) => n.id)) : [];
      expect(concerned.some((id) => alerted.some((n) => n.id === id) || spawned.includes(id!))).toBe(true);
      // The views from that invocation hold every truth node and edge.
      const shown = new Set(Object.values(views).flatMap((v) => v.nodes.filter((n) => n.type !== 'Summary').map((n) => n.id)));
      const missing = Object.entries(names).flatMap(([name, ns]) => ns.filter((n) => !shown.has(n.id)).map((n) => `${name}: ${n.type} ${n.id}`));
      expect(missing).toEqual([]);
      expect(missingEdges({ edges: Object.values(views).flatMap((v) => v.edges) as GraphEdge[] }, truth, names)).toEqual([]);
      // And from the alert itself, as an investigator opens it: every node the truth names (what attack-precision measures).
      const t = await execa(FAASPROV, ['trace', alert.id, '--backward', '--view', 'attack', '--format', 'json', '--store', collector.store], { reject: false, timeout: 120000 });
      expect([t.exitCode, t.exitCode === 0 ? '' : t.stderr]).toEqual([0, '']);
      const fromAlert = new Set((JSON.parse(t.stdout) as ShownView).nodes.map((n) => n.id));
      expect(refs.nodes.filter((n) => !fromAlert.has(n.id)).map((n) => `${n.type} ${n.id}`)).toEqual([]);
    }, 300000);
  }

  it('the benign traffic that ran alongside the attacks raised no alert', async () => {
    expect(shopTruths.length).toBe(3);
    const s = readStore(collector.store);
    const benignCalls = new Set(shopTruths.flatMap((t) => t.benign.map((b) => b.callId)));
    expect(benignCalls.size).toBeGreaterThan(10);
    const units = new Map(s.nodes.filter((n) => n.type === 'Unit').map((n) => [n.id, String(n.callId)]));
    const all = await alerts();
    expect(all.filter((a) => benignCalls.has(units.get(a.subject) ?? '') || benignCalls.has(units.get(a.object ?? '') ?? ''))).toEqual([]);
  });
});
