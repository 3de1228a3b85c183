import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { SHARED_TYPES, type NodeType } from '@faasprov/model';
import { Agent, Collector, fakeWatchdog, freePort, readStore, until } from './agent-harness.js';
import { faasprov, ROOT, tempDir } from './helpers.js';

const PY = join(ROOT, '.tools/pyvenv/bin/python');

/**
 * Two tenants captured for real (the agent, bpftrace, two watchdogs with their namespaces), then
 * every route, every export format and the CLI through --server, asked with each tenant's key:
 * no answer may carry the other tenant's data. Counted and printed.
 */
const KEYS = { 'team-a': 'iso-key-team-a-0123456789abcdef', 'team-b': 'iso-key-team-b-0123456789abcdef', admin: 'iso-key-admin-0123456789abcdef01' };
type Tenant = 'team-a' | 'team-b';
const OTHER: Record<Tenant, Tenant> = { 'team-a': 'team-b', 'team-b': 'team-a' };

let dir: string;
let collector: Collector;
let agent: Agent;
/** Text only a tenant's own captured activity contains: its file names, function and call ids. */
const marker: Record<Tenant, string> = { 'team-a': `isoA${randomBytes(4).toString('hex')}`, 'team-b': `isoB${randomBytes(4).toString('hex')}` };
const fnName: Record<Tenant, string> = { 'team-a': 'fn-iso-a', 'team-b': 'fn-iso-b' };

interface StoredNode {
  id: string;
  type: string;
  tenant?: string;
  [k: string]: unknown;
}

describe('tenant isolation: two tenants captured by the agent, every route and format, both keys', () => {
  let nodes: StoredNode[];
  const counts = { requests: 0, cli: 0, nodesChecked: 0, leaks: 0 };
  const leaks: string[] = [];

  beforeAll(async () => {
    dir = tempDir('fp-iso-');
    const work = join(dir, 'work');
    mkdirSync(join(work, 'shared'), { recursive: true });
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([
      { name: 'a', role: 'investigator', tenants: ['team-a'], key: KEYS['team-a'] },
      { name: 'b', role: 'investigator', tenants: ['team-b'], key: KEYS['team-b'] },
      { name: 'root', role: 'admin', tenants: '*', key: KEYS.admin },
    ]));
    // A rule that fires for both tenants, so the alerts route has each tenant's findings to keep apart.
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ rules: [{ id: 'iso-secret-write', kind: 'file-write', severity: 'high', description: 'a secret written', paths: ['**/*-secret.txt'] }] }));
    collector = new Collector(join(dir, 's.db'), await freePort(), ['--api-keys', join(dir, 'keys.json'), '--rate-limit', '1000000', '--rules', join(dir, 'rules.json')]);
    await collector.start();
    const wd: Record<Tenant, string> = { 'team-a': fakeWatchdog(dir, 'fpwdisoa'), 'team-b': fakeWatchdog(dir, 'fpwdisob') };
    agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdisoa,fpwdisob', await freePort());
    await agent.start();
    // Each tenant's function writes its own files (some read back in the same batch) inside one
    // invocation announced as the template shim does; B leaves a file on a shared directory that
    // A then reads by glob (so no command line of A's names B's file).
    const body = [
      'import glob, os, shutil, sys',
      `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'test/fixtures'))})`,
      'from shim import invocation',
      'w, m, role = sys.argv[1], sys.argv[2], sys.argv[3]',
      'def body():',
      "    open(f'{w}/{m}-out.txt', 'w').write(open('/etc/hostname').read())",
      "    open(f'{w}/{m}-secret.txt', 'w').write('secret')",
      "    open(f'{w}/{m}-copy.txt', 'w').write(open(f'{w}/{m}-secret.txt').read())",
      "    shutil.copy(f'{w}/{m}-copy.txt', f'{w}/{m}-copy2.txt')",
      "    os.unlink(f'{w}/{m}-copy2.txt')",
      "    if role == 'drop':",
      "        open(f'{w}/shared/{m}-drop.txt', 'w').write('drop')",
      '    else:',
      "        open(f'{w}/{m}-from-shared.txt', 'w').write(''.join(open(p).read() for p in glob.glob(f'{w}/shared/*')))",
      "invocation(f'call-{m}', body)",
    ].join('\n');
    const run = (t: Tenant, role: string) =>
      execa(wd[t], ['-c', 'sleep 0.2; exec "$0" -c "$1" "$2" "$3" "$4"', PY, body, work, marker[t], role], { env: { FAASPROV_FUNCTION: fnName[t], FAASPROV_NAMESPACE: t }, reject: false });
    expect((await run('team-b', 'drop')).exitCode).toBe(0);
    expect((await run('team-a', 'read')).exitCode).toBe(0);
    await until('both tenants stored', async () => {
      if ((await agent.metric('faasprov_agent_spool_pending_batches')) !== 0) return false;
      const s = readStore(collector.store);
      return (['team-a', 'team-b'] as const).every((t) => s.nodes.some((n) => n.type === 'Unit' && n.callId === `call-${marker[t]}` && n.end !== undefined))
        && s.nodes.some((n) => n.type === 'File' && String(n.path).includes(`${marker['team-a']}-from-shared`));
    }, 90000);
    nodes = readStore(collector.store).nodes as StoredNode[];
  }, 240000);

  afterAll(async () => {
    await agent?.stop();
    await collector?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The nodes a tenant may see in full: its own, and shared entities no tenant made. */
  // What an instance of unknown tenant made (tenantUnknown) is no tenant's, shared type or not.
  const visibleTo = (t: Tenant, n: StoredNode) => (n.tenant === undefined ? SHARED_TYPES.includes(n.type as NodeType) && n.tenantUnknown === undefined : n.tenant === t);

  /** Every node object in a JSON answer that is not redacted must be visible to t; no text of the other tenant's. */
  function check(t: Tenant, what: string, body: string, json: boolean) {
    const other = OTHER[t];
    for (const needle of [marker[other], fnName[other], other]) {
      if (body.includes(needle)) {
        counts.leaks++;
        if (leaks.length < 20) leaks.push(`${t} ${what}: contains ${needle}: …${body.slice(Math.max(0, body.indexOf(needle) - 120), body.indexOf(needle) + 60)}…`);
      }
    }
    if (!json) return;
    const walk = (v: unknown) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.id === 'string' && typeof o.type === 'string' && /^[a-z]{1,4}_[0-9a-f]{32}$/.test(o.id) && o.redacted !== true && !('from' in o && 'to' in o)) {
        counts.nodesChecked++;
        if (!visibleTo(t, o as StoredNode)) {
          counts.leaks++;
          if (leaks.length < 20) leaks.push(`${t} ${what}: shows ${o.type} ${o.id} of tenant ${String(o.tenant)} unredacted`);
        }
      }
      for (const x of Object.values(o)) walk(x);
    };
    walk(JSON.parse(body));
  }

  async function get(t: Tenant | 'admin', path: string) {
    counts.requests++;
    const r = await fetch(`${collector.url}${path}`, { headers: { authorization: `Bearer ${KEYS[t]}` } });
    const type = r.headers.get('content-type') ?? '';
    const body = type.startsWith('image/') ? '' : await r.text();
    if (t !== 'admin' && r.status < 300) check(t, path, body, type.includes('json'));
    return { status: r.status, body, type };
  }

  it('captured both tenants, each file version with its writer\'s tenant', () => {
    for (const t of ['team-a', 'team-b'] as const) {
      const own = nodes.filter((n) => n.type === 'File' && String(n.path).includes(marker[t]) && (n.version as number) > 0);
      expect(own.length).toBeGreaterThanOrEqual(3);
      for (const f of own) expect([f.path, f.tenant]).toEqual([f.path, t]);
      expect(nodes.some((n) => n.type === 'Invocation' && n.callId === `call-${marker[t]}` && n.tenant === t)).toBe(true);
      expect(nodes.some((n) => n.type === 'Alert' && n.tenant === t)).toBe(true);
    }
  });

  it('answers every route, for every stored node, with each key: zero leaks', async () => {
    for (const t of ['team-a', 'team-b'] as const) {
      const mine = nodes.filter((n) => visibleTo(t, n));
      const theirs = nodes.filter((n) => !visibleTo(t, n));
      // Search: everything, each type, each other-tenant marker, the other function.
      const all = await get(t, '/api/v1/nodes?limit=500');
      const listed = (JSON.parse(all.body) as { nodes: StoredNode[] }).nodes.map((n) => n.id).sort();
      expect(listed).toEqual(mine.map((n) => n.id).sort().slice(0, 500));
      for (const type of new Set(nodes.map((n) => n.type))) await get(t, `/api/v1/nodes?type=${type}&limit=500`);
      for (const q of [marker[OTHER[t]], OTHER[t], fnName[OTHER[t]], 'secret', 'drop', marker[t]]) {
        await get(t, `/api/v1/nodes?q=${q}&limit=500`);
        await get(t, `/api/v1/nodes?function=${q}&limit=500`);
      }
      expect((JSON.parse((await get(t, `/api/v1/nodes?q=${marker[t]}&limit=500`)).body) as { nodes: unknown[] }).nodes.length).toBeGreaterThanOrEqual(3);
      // One node, every trace direction from every node; the other tenant's do not exist.
      for (const n of mine) {
        expect((await get(t, `/api/v1/nodes/${n.id}`)).status).toBe(200);
        for (const direction of ['backward', 'forward']) expect((await get(t, `/api/v1/trace?from=${n.id}&direction=${direction}`)).status).toBe(200);
      }
      for (const n of theirs) {
        expect((await get(t, `/api/v1/nodes/${n.id}`)).status).toBe(404);
        expect((await get(t, `/api/v1/trace?from=${n.id}`)).status).toBe(404);
      }
      // Every export format, from each of the tenant's own files, processes and units.
      const starts = mine.filter((n) => ['File', 'Process', 'Unit', 'Invocation'].includes(n.type) && (n.tenant === t || String(n.path ?? '').includes('shared')));
      for (const n of starts) {
        for (const direction of ['backward', 'forward']) {
          for (const format of ['prov-json', 'dot', 'graphml']) expect((await get(t, `/api/v1/trace?from=${n.id}&direction=${direction}&format=${format}`)).status).toBe(200);
        }
      }
      const png = await get(t, `/api/v1/trace?from=${starts[0]!.id}&format=png`);
      expect([png.status, png.type]).toEqual([200, 'image/png']);
      // Paths between every pair of the tenant's own nodes and into the other tenant's.
      const sample = mine.filter((n) => n.tenant === t).slice(0, 12);
      for (const a of sample) for (const b of [...sample, ...theirs.slice(0, 3)]) if (a !== b) await get(t, `/api/v1/paths?from=${a.id}&to=${b.id}`);
      for (const f of Object.values(fnName)) await get(t, `/api/v1/timeline?function=${f}`);
      expect((JSON.parse((await get(t, `/api/v1/timeline?function=${fnName[t]}`)).body) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
      expect((JSON.parse((await get(t, `/api/v1/timeline?function=${fnName[OTHER[t]]}`)).body) as { entries: unknown[] }).entries).toEqual([]);
      const alerts = (JSON.parse((await get(t, '/api/v1/alerts?limit=500')).body) as { alerts: StoredNode[] }).alerts;
      expect(alerts.length).toBeGreaterThan(0);
      expect(alerts.every((a) => a.tenant === t)).toBe(true);
      for (const s of ['low', 'critical']) await get(t, `/api/v1/alerts?severity=${s}&function=${fnName[OTHER[t]]}`);
      expect((await get(t, `/api/v1/invocations/call-${marker[t]}`)).status).toBe(200);
      expect((await get(t, `/api/v1/invocations/call-${marker[OTHER[t]]}`)).status).toBe(404);
      const inst = JSON.parse((await get(t, '/api/v1/instances')).body) as { instances: { instance: StoredNode }[] };
      expect(inst.instances.length).toBeGreaterThan(0);
      await get(t, `/api/v1/instances?function=${fnName[OTHER[t]]}`);
      await get(t, '/api/v1/locality/remote-reads?limit=1000');
      expect((await get(t, '/api/v1/stats')).status).toBe(400);
    }
    // The admin sees both tenants: the checks above could have found them.
    const admin = await get('admin', '/api/v1/nodes?limit=500');
    for (const t of ['team-a', 'team-b'] as const) expect(admin.body).toContain(marker[t]);
    process.stdout.write(`tenant isolation (API): ${JSON.stringify(counts)}\n`);
    expect(leaks).toEqual([]);
    expect(counts.leaks).toBe(0);
  }, 600000);

  it('the CLI through --server, with each key, every format: zero leaks', async () => {
    for (const t of ['team-a', 'team-b'] as const) {
      const cli = async (args: string[], json: boolean) => {
        counts.cli++;
        const r = await faasprov([...args, '--server', collector.url, '--key', KEYS[t]]);
        expect([args.join(' '), r.exitCode, r.stderr]).toEqual([args.join(' '), 0, expect.not.stringContaining('FP_ERR') as unknown]);
        check(t, `faasprov ${args.join(' ')}`, String(r.stdout), json);
        return String(r.stdout);
      };
      expect(await cli(['search', marker[t], '--json', '--limit', '500'], true)).toContain(marker[t]);
      await cli(['search', marker[OTHER[t]], '--json', '--limit', '500'], true);
      await cli(['alerts', '--json', '--limit', '500'], true);
      await cli(['alerts', '--limit', '500'], false);
      const own = nodes.filter((n) => n.tenant === t && n.type === 'File' && String(n.path).includes(marker[t])).slice(0, 1);
      // Where the tenants meet: A's file made from B's drop (backward crosses to B), B's drop (forward reaches A).
      const shared = nodes.find((n) => n.type === 'File' && n.tenant === t && /-from-shared|\/shared\//.test(String(n.path)))!;
      for (const n of own) for (const format of ['tree', 'json', 'dot', 'prov-json', 'graphml', 'svg']) await cli(['trace', n.id, '--backward', '--format', format], format === 'json' || format === 'prov-json');
      for (const [flag, format] of [['--backward', 'json'], ['--backward', 'svg'], ['--forward', 'json'], ['--forward', 'tree']]) await cli(['trace', shared.id, flag!, '--format', format!], format === 'json');
      for (const format of ['prov-json', 'dot', 'graphml', 'json']) await cli(['export', shared.id, '--direction', 'forward', '--format', format], format.includes('json'));
      // Another tenant's node does not exist for this key.
      const theirs = nodes.find((n) => n.tenant === OTHER[t] && n.type === 'File')!;
      const r = await faasprov(['trace', theirs.id, '--backward', '--server', collector.url, '--key', KEYS[t]]);
      counts.cli++;
      expect(r.exitCode).not.toBe(0);
      expect(String(r.stderr)).toContain('FP_ERR_UNKNOWN_NODE');
    }
    process.stdout.write(`tenant isolation (API and CLI): ${JSON.stringify(counts)}\n`);
    expect(leaks).toEqual([]);
    expect(counts.leaks).toBe(0);
  }, 600000);
});
