/** scripts/template-lab.mjs: two real stacks side by side (faas-cli build, of-watchdog, network namespaces; needs root). */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureOpenfaasTools } from './openfaas-harness.js';
import { ROOT } from './helpers.js';

const LAB = join(ROOT, 'scripts', 'template-lab.mjs');
const TEMPLATES = join(ROOT, 'openfaas-templates', 'template');

describe('scripts/template-lab.mjs', () => {
  beforeAll(async () => {
    await ensureOpenfaasTools();
  }, 600000);

  it('refuses a bad command line with its usage and exit 2, and starts nothing', async () => {
    const r = await execa(process.execPath, [LAB, '3', 'x', `a=${TEMPLATES}`], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('ROUNDS and REPEATS are whole numbers');
    const dup = await execa(process.execPath, [LAB, '3', '1', `a=${TEMPLATES}`, `a=${TEMPLATES},shim:off`], { reject: false });
    expect(dup.exitCode).toBe(2);
    expect(dup.stderr).toContain('stack names must differ');
  });

  it('measures the plain template against the shim, each request answered, the first stack the reference', async () => {
    const r = await execa(process.execPath, [LAB, '4', '2', `plain=${TEMPLATES},shim:off`, `shim=${TEMPLATES}`], { cwd: ROOT, env: { KINDS: 'trivial' }, reject: false, timeout: 600000 });
    expect(r.stderr).not.toContain('answered');
    expect(r.exitCode).toBe(0);
    const reps = r.stdout.split('\n').filter((l) => /^rep \d (checkout|trivial) p50 ms: plain [\d.]+ {2}shim [\d.]+$/.test(l));
    expect(reps).toHaveLength(4); // two repetitions of the checkout and of the trivial kind
    expect(r.stdout).toMatch(/CPU ms per request \(checkout\/catalog\/payment\): plain [\d.]+\/[\d.]+\/[\d.]+ {2}shim [\d.]+\/[\d.]+\/[\d.]+/);
    expect(r.stdout).toMatch(/^median of p50s, checkout: plain [\d.]+ ms \(×1\.000\) {2}shim [\d.]+ ms \(×[\d.]+\)$/m);
  }, 600000);
});
