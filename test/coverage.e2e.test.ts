import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import type { GraphNode } from '@faasprov/model';
import { COVERAGE_ACTIONS, Check } from '../bench/src/host-coverage/actions.js';
import { runCoverage, scoreCoverage, type CoverageResult } from '../bench/src/host-coverage/run.js';
import { faasprov, tempDir } from './helpers.js';

// Every attacker-like action of the table, each in a process of its own, under one real capture
// (one bpftrace attach for all); each must leave its artifact, made by its own process, and raise
// the alert its rule names, and the shipped rules must raise nothing else.
describe('capture coverage: attacker-like actions leave their marks (bench/src/host-coverage/actions.ts)', () => {
  const dir = tempDir('fp-cov-');
  let run: CoverageResult;

  beforeAll(async () => {
    run = await runCoverage(dir);
    expect(run.stderr).toContain('nothing lost');
    expect(run.code).toBe(0);
  }, 300000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 40 actions, each with its own process', () => {
    expect(COVERAGE_ACTIONS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(COVERAGE_ACTIONS.map((a) => a.id)).size).toBe(COVERAGE_ACTIONS.length);
    const pids = COVERAGE_ACTIONS.map((a) => run.manifest[a.id]?.pid);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    expect(new Set(pids).size).toBe(pids.length);
  });

  it.each(COVERAGE_ACTIONS.map((a) => [a.id, a] as const))('%s: its artifact is in the graph, made by its process', (id, action) => {
    expect(run.manifest[id]).toMatchObject({ code: 0 });
    const c = new Check(run, id);
    expect(c.procs.length).toBeGreaterThan(0);
    expect(action.check(c)).toBeUndefined();
    if (action.alert) expect(c.alerted(action.alert)).toBe(true);
  });

  it('scores every action captured (the coverage benchmark figure)', () => {
    const s = scoreCoverage(run);
    expect(s.missed).toEqual([]);
    expect(s.alerted).toBe(s.alertsExpected);
  });

  it('raises no alert but the ones the actions name', () => {
    const expected = new Map<number, string[]>();
    for (const a of COVERAGE_ACTIONS) expected.set(run.manifest[a.id]!.pid, a.alert ? [a.alert] : []);
    const nodes = new Map<string, GraphNode>(run.graph.nodes.map((n) => [n.id, n]));
    const unexpected = run.alerts.filter((al) => {
      const pids = [al.subject, al.object].map((id) => nodes.get(id ?? '')).filter((n) => n?.type === 'Process').map((n) => (n as { pid: number }).pid);
      return !pids.some((pid) => expected.get(pid)?.includes(al.rule));
    });
    expect(unexpected.map((al) => `${al.rule}: ${al.summary}`)).toEqual([]);
  });

  it('ran code from the network through memory: one backward trace from the alert reaches the peer', async () => {
    const c = new Check(run, 'fileless-exec');
    const alert = run.alerts.find((a) => a.rule === 'fileless-exec' && c.procs.some((p) => p.id === a.subject))!;
    const r = await faasprov(['trace', alert.id, '--backward', '--store', run.store, '--format', 'json']);
    expect(r.exitCode).toBe(0);
    const g = JSON.parse(String(r.stdout)) as { nodes: GraphNode[] };
    expect(g.nodes.some((n) => n.type === 'File' && n.path === 'memfd:fpcov-payload')).toBe(true);
    expect(g.nodes.some((n) => n.type === 'Endpoint' && n.address === '127.0.0.1' && n.port === run.port)).toBe(true);
  });
});
