import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { edgeId, fileId, processId, type AlertNode, type Batch, type GraphEdge, type GraphNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { Agent, Collector, fakeWatchdog, freePort, readStore, until } from './agent-harness.js';
import { faasprov, ROOT, tempDir } from './helpers.js';

const PY = join(ROOT, '.tools/pyvenv/bin/python');
const ATTACKS = join(ROOT, 'test/fixtures/attacks.py');
const INVESTIGATOR_KEY = 'investigator-key-0123456789abcdef';
/** Where the dashboard screenshots go (readable PNGs, one per main view). */
const SHOTS = join(ROOT, 'test/screenshots');

/** A small HTTP server of the test's own (the attacker's, or an allowed service). */
async function server(host: string, log: string): Promise<{ at: string; proc: ResultPromise }> {
  const port = await freePort();
  const proc = execa(PY, [join(ROOT, 'test/fixtures/attacker_server.py'), host, String(port), log], { reject: false, buffer: false });
  await new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()));
  return { at: `${host}:${port}`, proc };
}

// Real attacks on real processes under the real agent; the collector's shipped rules raise the alerts.
let dir: string;
let collector: Collector;
let agent: Agent;
let attacker: Awaited<ReturnType<typeof server>>;
let allowed: Awaited<ReturnType<typeof server>>;
let alerts: AlertNode[];
let store: ReturnType<typeof readStore>;

describe('attack scenarios raise alerts whose backward trace holds the whole attack', () => {
  beforeAll(async () => {
    dir = tempDir('fp-attack-');
    attacker = await server('127.0.0.66', join(dir, 'stolen.bin'));
    allowed = await server('127.0.0.1', join(dir, 'allowed.log'));
    const wd = fakeWatchdog(dir, 'fpwdatk');
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([{ name: 'alice', role: 'investigator', tenants: '*', key: INVESTIGATOR_KEY }]));
    collector = new Collector(join(dir, 's.db'), await freePort(), ['--api-keys', join(dir, 'keys.json')]);
    await collector.start();
    agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdatk', await freePort());
    await agent.start();
    // The stand-in watchdog waits a moment, as a long-lived real one would, so /proc shows its environment.
    const run = (fn: string, args: string[]) => execa(wd, ['-c', `sleep 0.2; exec ${PY} ${ATTACKS} "$@"`, 'fn', ...args], { env: { FAASPROV_FUNCTION: fn }, reject: false });
    mkdirSync(join(dir, 'code'));
    writeFileSync(join(dir, 'cards.txt'), '4111-1111-1111-1111');
    mkdirSync(join(dir, 'benign'));
    writeFileSync(join(dir, 'benign', 'input.txt'), 'price list');
    for (const r of await Promise.all([
      run('authorize-cc', ['warm', join(dir, 'code'), attacker.at, join(dir, 'cards.txt')]),
      run('publish', ['shell']),
      run('get-price', ['benign', join(dir, 'benign'), allowed.at]),
    ])) expect(r.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'stolen.bin'), 'utf8')).toBe('4111-1111-1111-1111');
    await until('the scenarios to be stored', async () => {
      if ((await agent.metric('faasprov_agent_spool_pending_batches')) !== 0) return false;
      const s = readStore(collector.store);
      return ['warm-2', 'shell-1', 'benign-1'].every((c) => s.nodes.some((n) => n.type === 'Unit' && n.callId === c && n.end !== undefined));
    });
    const r = await faasprov(['alerts', '--store', collector.store, '--json', '--limit', '500']);
    expect(r.exitCode).toBe(0);
    alerts = (JSON.parse(String(r.stdout)) as { alerts: AlertNode[] }).alerts;
    store = readStore(collector.store);
  }, 180000);

  const unit = (callId: string) => store.nodes.find((n) => n.type === 'Unit' && n.callId === callId)!;
  const traceFrom = async (id: string) => {
    const r = await faasprov(['trace', id, '--backward', '--store', collector.store, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    return JSON.parse(String(r.stdout)) as { nodes: GraphNode[]; edges: GraphEdge[] };
  };

  it('warm-container reuse: the exfiltration alert traces back to the payload, the invocation that planted it, and the attacker (recall 100%)', async () => {
    const [u1, u2] = [unit('warm-1'), unit('warm-2')];
    const [host, port] = attacker.at.split(':');
    const ep = store.nodes.find((n) => n.type === 'Endpoint' && n.address === host && n.port === Number(port))!;
    const patch = store.nodes.find((n) => n.type === 'File' && String(n.path).endsWith('/code/function/patch.py'))!;
    const cards = store.nodes.find((n) => n.type === 'File' && String(n.path).endsWith('/cards.txt'))!;
    const exfil = alerts.find((a) => a.rule === 'egress-outside-allow-list' && a.subject === u2.id)!;
    expect(exfil).toMatchObject({ function: 'authorize-cc', object: ep.id });
    expect(alerts.find((a) => a.rule === 'code-dir-write')).toMatchObject({ subject: u1.id, object: patch.id, severity: 'critical' });
    expect(alerts.find((a) => a.rule === 'cross-invocation-flow')).toMatchObject({ subject: u2.id, object: patch.id });

    const g = await traceFrom(exfil.id);
    const nodes = new Set(g.nodes.map((n) => n.id));
    const has = (type: string, from: { id: string }, to: { id: string }) => g.edges.some((e) => e.type === type && e.from === from.id && e.to === to.id);
    for (const n of [u1, u2, ep, patch, cards]) expect(nodes.has(n.id)).toBe(true);
    expect(has('USED', u1, ep)).toBe(true);
    expect(has('WAS_GENERATED_BY', patch, u1)).toBe(true);
    expect(has('USED', u2, patch)).toBe(true);
    expect(has('USED', u2, cards)).toBe(true);
    expect(has('USED', u2, ep)).toBe(true);
  });

  it('a shell spawned from a function is an alert that traces back to its invocation', async () => {
    const shell = alerts.find((a) => a.rule === 'shell-in-function')!;
    expect(shell).toMatchObject({ function: 'publish', severity: 'high' });
    const g = await traceFrom(shell.id);
    expect(g.nodes.some((n) => n.type === 'Unit' && n.callId === 'shell-1')).toBe(true);
  });

  const attackView = async (id: string) => {
    const r = await faasprov(['trace', id, '--backward', '--view', 'attack', '--store', collector.store, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    return JSON.parse(String(r.stdout)) as { nodes: { id: string; type: string }[]; context: { label: string; members: string[] }[]; folded: { nodes: GraphNode[] }; steps: string[] };
  };
  const invocationAndUnits = (callId: string) => store.nodes.filter((n) => (n.type === 'Unit' || n.type === 'Invocation') && n.callId === callId);

  it('the attack view of each alert holds its ground truth (recall 1.0) and little else (precision >= 0.9)', async () => {
    const [host, port] = attacker.at.split(':');
    const ep = store.nodes.find((n) => n.type === 'Endpoint' && n.address === host && n.port === Number(port))!;
    const u2 = unit('warm-2');
    const exfil = alerts.find((a) => a.rule === 'egress-outside-allow-list' && a.subject === u2.id)!;
    const shell = alerts.find((a) => a.rule === 'shell-in-function')!;
    const file = (suffix: string) => store.nodes.filter((n) => n.type === 'File' && String(n.path).endsWith(suffix));
    const cases = [
      { alert: exfil, truth: [...invocationAndUnits('warm-1'), ...invocationAndUnits('warm-2'), ...file('/code/function/patch.py'), ...file('/cards.txt'), ep] },
      { alert: shell, truth: [...invocationAndUnits('shell-1'), ...store.nodes.filter((n) => n.id === shell.subject || n.id === shell.object)] },
    ];
    for (const { alert, truth } of cases) {
      const v = await attackView(alert.id);
      // Every node of the view counts: folded context is not a node (it rides inside one, in `context`).
      const shown = v.nodes.map((n) => n.id);
      const want = [alert.id, ...truth.map((n) => n.id)];
      expect(want.filter((id) => !shown.includes(id))).toEqual([]);
      expect(want.length / shown.length).toBeGreaterThanOrEqual(0.9);
      // The steps name the attack's invocations, in order.
      const named = v.steps.flatMap((s) => /^invocation (\S+) of \S+ began$/.exec(s)?.slice(1) ?? []);
      expect(named).toEqual(alert === exfil ? ['warm-1', 'warm-2'] : ['shell-1']);
    }
  });

  it('a benign invocation that ran at the same time is in neither view of the exfiltration trace', async () => {
    const u2 = unit('warm-2');
    const exfil = alerts.find((a) => a.rule === 'egress-outside-allow-list' && a.subject === u2.id)!;
    const benign = new Set(invocationAndUnits('benign-1').map((n) => n.id));
    expect(benign.size).toBe(2);
    const full = await traceFrom(exfil.id);
    const v = await attackView(exfil.id);
    for (const ids of [full.nodes.map((n) => n.id), v.nodes.map((n) => n.id), v.folded.nodes.map((n) => n.id)]) {
      expect(ids.filter((id) => benign.has(id))).toEqual([]);
    }
  });

  it("the forward trace from the attacker's endpoint reaches the Invocation nodes it caused", async () => {
    const [host, port] = attacker.at.split(':');
    const ep = store.nodes.find((n) => n.type === 'Endpoint' && n.address === host && n.port === Number(port))!;
    const r = await faasprov(['trace', ep.id, '--forward', '--store', collector.store, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const g = JSON.parse(String(r.stdout)) as { nodes: GraphNode[] };
    const reached = g.nodes.flatMap((n) => (n.type === 'Invocation' ? [n.callId] : []));
    expect(reached).toEqual(expect.arrayContaining(['warm-1', 'warm-2']));
    expect(reached).not.toContain('benign-1');
  });

  it('benign traffic raises no alert', () => {
    expect(alerts.filter((a) => a.function === 'get-price')).toEqual([]);
    // No scenario here touches the host the host detections watch (sensitive files, system
    // directories, links, namespaces, raw sockets, ptrace, loader variables, fileless exec).
    const hostRules = ['sensitive-file-open', 'system-dir-write', 'link-to-sensitive', 'fileless-exec', 'namespace-change', 'raw-socket', 'ptrace', 'loader-env'];
    expect(alerts.filter((a) => hostRules.includes(a.rule))).toEqual([]);
    // Nor is the allowed service an egress finding.
    const [host, port] = allowed.at.split(':');
    const ep = store.nodes.find((n) => n.type === 'Endpoint' && n.address === host && n.port === Number(port));
    expect(ep).toBeDefined();
    expect(alerts.some((a) => a.object === ep!.id)).toBe(false);
  });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  attacker?.proc.kill();
  allowed?.proc.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The dashboard in real Chromium (Debian's, through playwright-core) against the stack above.
describe('investigation dashboard (Playwright, Chromium)', () => {
  let browser: Browser;
  let page: Page;
  const shot = async (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: process.env.FAASPROV_CHROMIUM ?? '/usr/bin/chromium',
      // WebGL (sigma.js) through SwiftShader: no GPU needed.
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
    page = await ctx.newPage();
  }, 60000);

  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with an API key, refusing a wrong one', async () => {
    // Served by the graph service, locked to its own origin.
    const home = await fetch(`${collector.url}/`);
    expect(home.headers.get('content-security-policy')).toContain("default-src 'self'");
    await page.goto(`${collector.url}/`);
    await page.getByLabel('API key').fill('not-a-key-at-all-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('API key').fill(INVESTIGATOR_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Alerts \(\d+\)$/ }).waitFor();
  });

  it('lists the alerts newest first, with severity and function', async () => {
    const rows = page.locator('table.alerts tbody tr');
    expect(await rows.count()).toBe(alerts.length);
    const text = await page.locator('table.alerts').innerText();
    for (const rule of ['egress-outside-allow-list', 'code-dir-write', 'cross-invocation-flow', 'shell-in-function']) expect(text).toContain(rule);
    expect(text).toContain('authorize-cc');
    expect(text).not.toContain('get-price');
    await shot('alerts');
  });

  it('opens an alert as a story: at most 25 nodes left to right, no two labels overlap, a summary expands, the steps name the invocations in order', async () => {
    const u2 = store.nodes.find((n) => n.type === 'Unit' && n.callId === 'warm-2')!;
    const exfil = alerts.find((a) => a.rule === 'egress-outside-allow-list' && a.subject === u2.id)!;
    await page.getByRole('button', { name: `Investigate ${exfil.rule} ${exfil.summary}` }).click();
    const story = page.getByTestId('story-graph');
    const nodes = story.locator('g.story-node');
    await nodes.first().waitFor();
    const shown = await nodes.count();
    expect(shown).toBeGreaterThanOrEqual(8);
    expect(shown).toBeLessThanOrEqual(25);
    type Rect = [number, number, number, number];
    const labelBoxes = () => story.locator('text.story-label').evaluateAll((els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      return [r.left, r.top, r.right, r.bottom] as [number, number, number, number];
    }));
    const overlaps = (bs: Rect[]) => bs.flatMap((a, i) => bs.slice(i + 1).filter((b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]).map((b) => [a, b]));
    const before = await labelBoxes();
    // One label per node, and one per context group drawn inside a node.
    const groups = story.locator('g.story-context');
    expect(await groups.count()).toBeGreaterThan(0);
    expect(before).toHaveLength(shown + (await groups.count()));
    expect(overlaps(before)).toEqual([]);
    // Causal order, left to right: the invocation that planted the payload, then the one that used it, then the alert.
    const x = async (sel: string) => (await story.locator(sel).first().boundingBox())!.x;
    const [inv1, inv2, alert] = [await x('g[aria-label="Invocation: invocation warm-1 of authorize-cc"]'), await x('g[aria-label="Invocation: invocation warm-2 of authorize-cc"]'), await x('g[data-type="Alert"]')];
    expect(inv1).toBeLessThan(inv2);
    expect(inv2).toBeLessThan(alert);
    const steps = await page.getByRole('list', { name: 'steps of the attack' }).locator('li').allInnerTexts();
    expect(steps.flatMap((t) => /^invocation (\S+) of \S+ began$/.exec(t)?.slice(1) ?? [])).toEqual(['warm-1', 'warm-2']);
    expect(steps.some((t) => /^invocation warm-1 wrote .*\/function\/patch\.py/.test(t))).toBe(true);
    expect(steps.at(-1)).toMatch(/^alert egress-outside-allow-list/);
    await shot('attack-story');
    // A summary (a context group inside a node) opens on click: its members become nodes, still without overlaps.
    const summary = groups.first();
    await summary.click();
    await until('the summary to open', async () => (await nodes.count()) > shown, 10000);
    expect(overlaps(await labelBoxes())).toEqual([]);
    await shot('attack-story-expanded');
    await page.getByRole('tab', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: /^Alerts \(\d+\)$/ }).waitFor();
  }, 60000);

  it('opens the exfiltration alert: the trace graph shows the attack, a node expands, its details and timeline show', async () => {
    const u2 = store.nodes.find((n) => n.type === 'Unit' && n.callId === 'warm-2')!;
    const exfil = alerts.find((a) => a.rule === 'egress-outside-allow-list' && a.subject === u2.id)!;
    await page.getByRole('button', { name: `Investigate ${exfil.rule} ${exfil.summary}` }).click();
    // Full provenance, one click from the story.
    await page.getByLabel('Full provenance').check();
    const status = page.getByRole('status');
    await status.filter({ hasText: /\d+ nodes/ }).waitFor();
    const count = () => status.innerText().then((t) => Number(/(\d+) nodes/.exec(t)![1]));
    const before = await count();
    const list = page.getByRole('navigation', { name: 'nodes of the trace' });
    const [host, port] = attacker.at.split(':');
    for (const want of ['unit of', 'in warm-1', 'in warm-2', '/function/patch.py', '/cards.txt', `${host}:${port}`]) {
      await expect(list.getByRole('button', { name: new RegExp(want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }).first().isVisible()).resolves.toBe(true);
    }
    // The graph is drawn (sigma's WebGL canvases), not only listed.
    expect(await page.locator('[data-testid=graph-canvas] canvas').count()).toBeGreaterThan(0);
    await shot('investigation');

    // Node details and the invocation's timeline.
    await list.getByRole('button', { name: /Unit: unit of \d+ in warm-2/ }).click();
    const details = page.getByRole('complementary', { name: 'node details' });
    await details.getByText('callId').waitFor();
    const timeline = details.getByRole('region', { name: 'timeline of invocation warm-2' });
    await timeline.getByText(/cards\.txt/).first().waitFor();
    await shot('node-details');

    // Expanding the instance brings in what the backward trace did not need (its other processes).
    await list.getByRole('button', { name: /^Instance: instance authorize-cc/ }).first().click();
    await details.getByRole('button', { name: 'Expand this node' }).click();
    await until('the expansion', async () => (await count()) > before, 20000);
  }, 60000);

  it('filters by node type', async () => {
    const list = page.getByRole('navigation', { name: 'nodes of the trace' });
    const files = () => list.getByRole('button', { name: /^File:/ }).count();
    expect(await files()).toBeGreaterThan(0);
    await page.getByRole('checkbox', { name: 'File', exact: true }).uncheck();
    expect(await files()).toBe(0);
    await page.getByRole('checkbox', { name: 'File', exact: true }).check();
    expect(await files()).toBeGreaterThan(0);
    // Files read as they were found (libraries, .pyc) hide; the files the attack made stay.
    await page.getByRole('checkbox', { name: 'Hide files read as found' }).check();
    expect(await list.getByRole('button', { name: /\(initial\)/ }).count()).toBe(0);
    expect(await list.getByRole('button', { name: /function\/patch\.py/ }).count()).toBe(1);
    await page.getByRole('checkbox', { name: 'Hide files read as found' }).uncheck();
  });

  it('exports the trace as PROV-JSON, DOT and PNG', async () => {
    const get = async (label: string) => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
      const p = join(dir, d.suggestedFilename());
      await d.saveAs(p);
      return readFileSync(p);
    };
    const prov = JSON.parse((await get('Export PROV-JSON')).toString()) as Record<string, unknown>;
    expect(Object.keys(prov)).toEqual(expect.arrayContaining(['prefix', 'entity', 'activity', 'used']));
    expect((await get('Export DOT')).toString()).toMatch(/^digraph provenance \{/);
    expect((await get('Export PNG')).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('shows functions and instances with operations, reduction and losses; search finds nodes', async () => {
    await page.getByRole('tab', { name: 'Functions' }).click();
    const table = page.locator('table.instances');
    await table.waitFor();
    const text = await table.innerText();
    for (const fn of ['authorize-cc', 'publish', 'get-price']) expect(text).toContain(fn);
    await shot('functions');
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.getByLabel(/^Text/).fill('patch.py');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText(/File: .*\/function\/patch\.py/).first().waitFor();
    await shot('search');
    expect(existsSync(join(SHOTS, 'alerts.png'))).toBe(true);
  });

  it('is usable by keyboard: an alert opens with Enter', async () => {
    await page.getByRole('tab', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: /^Alerts/ }).waitFor();
    await page.getByRole('button', { name: /^Investigate shell-in-function/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Investigation: shell-in-function/ }).waitFor();
    // The story's nodes take the keyboard too; then the full view's controls.
    await page.getByTestId('story-graph').locator('g.story-node').first().waitFor();
    await page.getByLabel('Full provenance').check();
    // Every control has a label a screen reader reads.
    for (const name of ['Backward (root cause)', 'Forward (impact)', 'From', 'Until']) expect(await page.getByLabel(name).count()).toBe(1);
  });

  it('stays responsive on a trace of 5,000 nodes', async () => {
    // A store of its own: one process that read 5,000 files.
    const big = join(dir, 'big.db');
    const s = new SqliteGraphStore(big);
    const t0 = 1_790_000_000_000_000;
    const p = { id: processId('n', 9, t0), type: 'Process' as const, node: 'n', pid: 9, start: t0, exe: '/usr/bin/bigproc', argv: ['bigproc'] };
    const files = Array.from({ length: 5000 }, (_, i) => ({ id: fileId('n', `/data/f-${i}`, 0), type: 'File' as const, node: 'n', path: `/data/f-${i}`, version: 0 }));
    const b: Batch = {
      agent: 'n:1', seq: 0, nodes: [p, ...files],
      edges: files.map((f, i) => ({ id: edgeId('USED', p.id, f.id), type: 'USED' as const, from: p.id, to: f.id, firstTime: t0 + i, lastTime: t0 + i, count: 1, bytes: 1 })),
    };
    await applyBatch(s, b);
    await s.close();
    const port = await freePort();
    const up = execa(join(ROOT, 'cli/bin/faasprov'), ['up', '--store', big, '--no-auth', '--port', String(port)], { reject: false });
    try {
      await until('the second graph service', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30000);
      const p2 = await page.context().newPage();
      await p2.goto(`http://127.0.0.1:${port}/`);
      await p2.getByLabel('API key').fill('none-needed');
      await p2.getByRole('button', { name: 'Sign in' }).click();
      await p2.getByRole('tab', { name: 'Search' }).click();
      await p2.getByLabel(/^Text/).fill('bigproc');
      await p2.getByRole('button', { name: 'Search', exact: true }).click();
      await p2.getByRole('button', { name: 'Investigate' }).first().click();
      await p2.getByRole('status').filter({ hasText: '5001 nodes, 5000 edges' }).waitFor({ timeout: 30000 });
      // Still answers: filtering and selecting work at once on the big graph.
      await p2.getByRole('checkbox', { name: 'File', exact: true }).uncheck();
      expect(await p2.getByRole('navigation', { name: 'nodes of the trace' }).getByRole('button').count()).toBe(1);
      await p2.getByRole('checkbox', { name: 'File', exact: true }).check();
      await p2.getByRole('navigation', { name: 'nodes of the trace' }).getByRole('button', { name: /\/data\/f-42 / }).click();
      await p2.getByRole('complementary', { name: 'node details' }).getByText('/data/f-42', { exact: true }).waitFor();
      await p2.screenshot({ path: join(SHOTS, 'investigation-5000.png') });
      await p2.close();
    } finally {
      up.kill();
      await up;
    }
  }, 90000);
});
