/**
 * The shipped `secret-read` rule (kind secret-access, collector/src/rules/secrets.ts): a function's
 * own mounted secret read at start-up or as its invocations always do is benign; another
 * function's secret, a probe for one, a read by a process an invocation spawned, and a read inside
 * an invocation where the function's earlier invocations never read it raise. On both stores.
 */
import { describe, expect, it } from '@jest/globals';
import {
  fileId, instanceId, invocationId, processId, unitId,
  type AlertNode, type Batch, type GraphNode, type InstanceNode, type ProcessNode, type UnitNode,
} from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, captureNeeds, loadRules } from '@faasprov/collector';
import { edgeBatch, useRuleStores, type HistoryEdge } from './rule-history.js';

const N = 'node-s';
const T0 = 1_790_000_000_000_000;
const SECRETS = '/var/openfaas/secrets';
const inst = (pid: number, fn: string, secrets?: string[]): InstanceNode => ({
  id: instanceId(N, pid, T0), type: 'Instance', node: N, rootPid: pid, start: T0, mode: 'process-tree', function: fn, tenant: 'shop', ...(secrets ? { secrets } : {}),
});
const proc = (pid: number, start: number, exe: string): ProcessNode => ({ id: processId(N, pid, start), type: 'Process', node: N, pid, start, exe, argv: [exe], tenant: 'shop' });
const unit = (p: ProcessNode, callId: string, start: number, i: InstanceNode): UnitNode => ({
  id: unitId(N, p.pid, p.start, callId, start), type: 'Unit', node: N, pid: p.pid, processStart: p.start, callId, start, instance: i.id, function: i.function, tenant: 'shop',
});
const file = (path: string): GraphNode => ({ id: fileId(N, path, 0), type: 'File', node: N, path, version: 0 });
type E = HistoryEdge;
const batch = (seq: number, edges: HistoryEdge[]): Batch => edgeBatch(`${N}:1`, seq, edges);
const part = (u: UnitNode): E => ['PART_OF', u, { id: invocationId(u.callId, 'shop'), type: 'Invocation', callId: u.callId, start: u.start, source: 'shim', tenant: 'shop' }, u.start];

describe('secret-read: what a function does with its own mounted secrets is its baseline', () => {
  // pay reads its key at start-up and never in an invocation; sign reads its key in every invocation.
  const pay = inst(100, 'pay', [SECRETS]);
  const sign = inst(200, 'sign', [SECRETS]);
  const bare = inst(300, 'bare');
  const payKey = file(`${SECRETS}/pay-key`);
  const signKey = file(`${SECRETS}/sign-key`);
  const probe = file(`${SECRETS}/admin-token`);
  const others = file('/srv/shop/.faasprov/secrets/sign/sign-key');
  const elsewhere = file('/srv/shop/keys/sign-key');
  const py = proc(101, T0 + 1, '/usr/bin/python3');
  const sg = proc(201, T0 + 2, '/usr/bin/node');
  const bp = proc(301, T0 + 3, '/usr/bin/python3');
  const p1 = unit(py, 'pay-1', T0 + 100, pay);
  const p2 = unit(py, 'pay-2', T0 + 200, pay);
  const p3 = unit(py, 'pay-3', T0 + 300, pay);
  const s1 = unit(sg, 'sign-1', T0 + 110, sign);
  const s2 = unit(sg, 'sign-2', T0 + 210, sign);
  const b1 = unit(bp, 'bare-1', T0 + 120, bare);
  // A shell p3 forks, and the cat it execs.
  const sh = proc(102, T0 + 310, '/bin/sh');
  const cat = proc(102, T0 + 311, '/usr/bin/cat');
  // A helper the start-up forks (before any invocation) reads the key too: still start-up.
  const helper = proc(103, T0 + 5, '/usr/bin/python3');
  const history: Batch[] = [
    batch(0, [
      ['WAS_ASSOCIATED_WITH', py, pay, T0 + 1], ['WAS_ASSOCIATED_WITH', sg, sign, T0 + 2], ['WAS_ASSOCIATED_WITH', bp, bare, T0 + 3],
      ['USED', py, payKey, T0 + 4],
      ['WAS_INFORMED_BY', helper, py, T0 + 5], ['WAS_ASSOCIATED_WITH', helper, pay, T0 + 5], ['USED', helper, payKey, T0 + 6],
    ]),
    batch(1, [part(p1), part(s1), part(b1), ['USED', s1, signKey, T0 + 111], ['USED', b1, probe, T0 + 121, { rc: -2, openFlags: 0 }]]),
    batch(2, [part(p2), part(s2), ['USED', s2, signKey, T0 + 211]]),
    batch(3, [
      part(p3), ['USED', p3, payKey, T0 + 301],
      ['WAS_INFORMED_BY', sh, p3, T0 + 310], ['WAS_ASSOCIATED_WITH', sh, pay, T0 + 310],
      ['WAS_INFORMED_BY', cat, sh, T0 + 311], ['WAS_ASSOCIATED_WITH', cat, pay, T0 + 311], ['USED', cat, payKey, T0 + 312],
      // sign's key where `functions up` keeps it on the host: not mounted for pay.
      ['USED', py, others, T0 + 320],
      ['USED', py, elsewhere, T0 + 321],
    ]),
  ];

  const stores = useRuleStores(history);

  const secretAlerts = async (s: GraphStore) => ((await s.alerts({ limit: 100, offset: 0 })) as AlertNode[]).filter((a) => a.rule === 'secret-read');

  it('raises on a probe, an invocation unlike the earlier ones, and a process an invocation spawned; not on start-up or a baseline', async () => {
    const a = await secretAlerts(stores.sqlite);
    const about = a.map((x) => [x.subject, x.object]).sort();
    expect(about).toEqual([
      [b1.id, probe.id], // bare has no secret mounted: a probe
      [p3.id, payKey.id], // pay's invocations 1 and 2 never read it
      [cat.id, payKey.id], // spawned by pay-3
      [py.id, others.id], // another function's secret
    ].sort());
    expect(a.find((x) => x.subject === p3.id)!.summary).toContain('its 2 earlier invocations never read');
    expect(a.find((x) => x.subject === cat.id)!.summary).toContain('spawned by invocation pay-3');
    expect(a.find((x) => x.subject === b1.id)!.summary).toMatch(/tried to read \(error 2\) \/var\/openfaas\/secrets\/admin-token, a secret not mounted for bare/);
    expect(a.every((x) => x.severity === 'high')).toBe(true);
    // Not listed above, so quiet: the start-up reads (the process and the helper it forked before any
    // invocation), sign-1 (a function's first invocation sets its baseline) and sign-2 (as sign-1 did).
  });

  it('a path outside the secret globs is not this rule\'s', async () => {
    const a = await secretAlerts(stores.sqlite);
    expect(a.some((x) => x.object === elsewhere.id)).toBe(false);
    // sensitive-file-open leaves mounted secrets to this rule.
    const all = (await stores.sqlite.alerts({ limit: 100, offset: 0 })) as AlertNode[];
    expect(all.filter((x) => x.rule === 'sensitive-file-open')).toEqual([]);
  });

  it('answers the same on Neo4j', async () => {
    const ids = async (s: GraphStore) => (await secretAlerts(s)).map((x) => x.id).sort();
    expect(await ids(stores.neo)).toEqual(await ids(stores.sqlite));
  });

  it('asks the agent to keep failed opens of secrets and to record the mounts below the secret roots', () => {
    const needs = captureNeeds(loadRules(DEFAULT_RULES_FILE));
    expect(needs.attemptPaths).toEqual(expect.arrayContaining(['/var/openfaas/secrets/**', '/run/secrets/**']));
    expect(needs.secretRoots).toEqual(['/run/secrets', '/var/openfaas/secrets', '/var/run/secrets']);
  });
});
