/** scripts/probe-cost.mjs: the agent's kernel program on real shop stacks, two variants at once (bpftrace, bpf_stats; needs root). */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureOpenfaasTools } from './openfaas-harness.js';
import { ROOT } from './helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'probe-cost.mjs');
const AGENT = join(ROOT, 'agent', 'dist', 'index.js');
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

describe('scripts/probe-cost.mjs', () => {
  beforeAll(async () => {
    await ensureOpenfaasTools();
  }, 600000);

  it('refuses a bad command line with its usage and exit 2, and starts nothing', async () => {
    const r = await execa(process.execPath, [SCRIPT, '5', 'x', `a=${AGENT}`], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('SECONDS and REPEATS are whole numbers');
    const bad = await execa(process.execPath, [SCRIPT, '5', '1', `a=${AGENT},sometimes`], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('is not NAME=AGENT_INDEX_JS');
  });

  it('measures a watching and a non-watching program at once: BPF time per checkout, lines, and the sysctl put back', async () => {
    const before = readFileSync(STATS, 'utf8');
    const r = await execa(process.execPath, [SCRIPT, '20', '1', `watching=${AGENT}`, `nobody=${AGENT},unwatched`], { cwd: ROOT, reject: false, timeout: 900000 });
    expect(r.stderr).not.toMatch(/probe-cost: (?!rep|the shop)/);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(STATS, 'utf8')).toBe(before);
    const [watching = '', nobody = ''] = r.stdout.split('\n== ').slice(1);
    const bpfUs = (s: string) => Number(/^BPF run time per checkout ([\d.]+) µs/m.exec(s)?.[1]);
    const perCheckout = (s: string, tag: string) => Number(new RegExp(`[(, ]${tag} ([\\d.]+)`).exec(/^bpftrace CPU.*$/m.exec(s)?.[0] ?? '')?.[1] ?? 0);
    expect(watching).toMatch(/^watching: \d+ checkouts/);
    expect(nobody).toMatch(/^nobody \(unwatched\): \d+ checkouts/);
    // Both pay every process's scope checks; only the watching one pays its shop's own work on top.
    expect(bpfUs(nobody)).toBeGreaterThan(0);
    expect(bpfUs(watching)).toBeGreaterThan(bpfUs(nobody));
    // A checkout is three invocations, each a begin and an end marker (the window's edges cut a few).
    expect(perCheckout(watching, 'm')).toBeGreaterThan(4);
    expect(perCheckout(watching, 'm')).toBeLessThan(8);
    expect(perCheckout(nobody, 'm')).toBe(0);
    expect(watching).toMatch(/^tracepoint_syscalls_sys_exit_read_\d+ +[\d.]+ +\d+ +[\d.]+$/m);
  }, 900000);
});
