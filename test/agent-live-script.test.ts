import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, tempDir } from './helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'agent-live.mjs');
const run = (args: string[], env: Record<string, string> = {}) => execa(process.execPath, [SCRIPT, ...args], { cwd: ROOT, reject: false, env });

// The measurement itself deploys the shop and runs agents (minutes, root): BENCHMARKS.md has its figures.
describe('scripts/agent-live.mjs', () => {
  it('prints its usage', async () => {
    const r = await run(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^usage: scripts\/agent-live\.mjs ROUNDS REPEATS NAME=ROOT/);
    expect(r.stdout).toMatch(/EVERY_MS/);
  });

  it('refuses bad input with a clear error before deploying anything', async () => {
    const empty = tempDir('fp-agent-live-');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['0', '1', `a=${ROOT}`], {}, /ROUNDS and REPEATS are positive whole numbers/],
      [['10', '1'], {}, /at least one build is given/],
      [['10', '1', ROOT], {}, /is not NAME=ROOT/],
      [['10', '1', `A B=${ROOT}`], {}, /build name "A B"/],
      [['10', '1', `a=${empty}`], {}, /is not a built faasprov checkout/],
      [['10', '1', `a=${ROOT}`, `a=${ROOT}`], {}, /build names must differ/],
      [['10', '1', `a=${ROOT}`], { EVERY_MS: 'fast' }, /EVERY_MS must be a whole number/],
      [['10', '1', `a=${ROOT}`], { PERF: 'b' }, /PERF=b: no such build/],
    ];
    for (const [args, env, why] of cases) {
      const r = await run(args, env);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe('');
    }
    rmSync(empty, { recursive: true, force: true });
  });
});
