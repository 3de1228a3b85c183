import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { faasprov, tempDir } from './helpers.js';

// faasprov doctor as a newcomer runs it, and run/agent refusing with the same words.
describe('faasprov doctor', () => {
  it('prints every requirement with what it found, bpftrace 0.23 or newer, and exits 0 here', async () => {
    const r = await faasprov(['doctor']);
    expect(r.exitCode).toBe(0);
    const lines = String(r.stdout).split('\n');
    for (const name of ['root', 'bpftrace', 'kernel BTF', 'tracefs', 'Node.js', 'better-sqlite3', 'Neo4j', 'NATS', 'Graphviz', 'chrt', 'setpriv', 'nm']) {
      expect(lines.some((l) => new RegExp(`^  (ok|absent|MISSING) +${name} `).test(l))).toBe(true);
    }
    const bpf = lines.find((l) => /^  ok +bpftrace /.test(l));
    const version = /bpftrace +(\d+)\.(\d+)/.exec(bpf ?? '');
    expect(version).not.toBeNull();
    expect(Number(version![1]) * 1000 + Number(version![2])).toBeGreaterThanOrEqual(23);
    expect(lines).toContain('capture: ready');
  });

  it('exits 1 without bpftrace, says how to get it, and run and agent refuse with the same message', async () => {
    const r = await faasprov(['doctor', '--bpftrace', '/nonexistent']);
    expect(r.exitCode).toBe(1);
    const fix = String(r.stdout).split('\n').find((l) => l.includes('[FP_ERR_NO_BPFTRACE]'))?.trim();
    expect(fix).toMatch(/^bpftrace not found \(\/nonexistent\); run scripts\/ensure-bpftrace\.sh/);
    expect(r.stdout).toMatch(/^capture: not ready \(bpftrace\)/m);
    const dir = tempDir('fp-doctor-');
    const run = await faasprov(['run', '--store', join(dir, 's.db'), '--bpftrace', '/nonexistent', '--', 'true']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(`faasprov: ${fix}`);
    const agent = await faasprov(['agent', '--collector', 'http://127.0.0.1:9', '--token', 'x'.repeat(20), '--spool', join(dir, 'spool'), '--metrics', 'off', '--otlp', 'off', '--bpftrace', '/nonexistent']);
    expect(agent.exitCode).toBe(2);
    expect(agent.stderr).toContain(`faasprov: ${fix}`);
  });

  it('reports what it cannot reach when a store or NATS server is given', async () => {
    const r = await faasprov(['doctor', '--store', 'bolt://127.0.0.1:9', '--nats', 'nats://127.0.0.1:9']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^  MISSING +Neo4j +bolt:\/\/127\.0\.0\.1:9: /m);
    expect(r.stdout).toMatch(/^  MISSING +NATS +nats:\/\/127\.0\.0\.1:9: /m);
    // Capture itself is fine: only the given services are missing.
    expect(r.stdout).toMatch(/^capture: ready$/m);
  });

});
