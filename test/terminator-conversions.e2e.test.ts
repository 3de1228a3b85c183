import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { bpftraceEnv, defaultBpftrace } from '@faasprov/agent';
import { frameProgram } from '../agent/src/sensor/framing.js';

/**
 * The real bpftrace: a printf's conversion may swallow letters that follow it (`%r` then `h` or
 * `x` is `%rh` or `%rx`), so a terminator starting with such a letter would be cut after a buffer
 * and the line lost as unparseable. frameProgram accepts exactly the first letters that print intact.
 */
describe('terminator letters after a conversion (real bpftrace)', () => {
  it('accepts a first letter exactly when bpftrace prints it intact after %r, %s, %d and %llu', async () => {
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
    const conversions: [string, string][] = [['%r', 'buf("ab", 2)'], ['%s', '"ab"'], ['%d', '7'], ['%llu', '(uint64)7']];
    const lines: string[] = [];
    for (const l of letters) for (const [c, arg] of conversions) lines.push(`printf("${l}\\t${c}${l}Qterm\\n", ${arg});`);
    const r = await execa(defaultBpftrace(), ['-e', `BEGIN { ${lines.join(' ')} exit(); }`], { env: { ...process.env, ...bpftraceEnv() }, reject: false, timeout: 120000 });
    expect(r.exitCode).toBe(0);
    const out = String(r.stdout).split('\n').filter((x) => /^[A-Za-z]\t/.test(x));
    expect(out.length).toBe(letters.length * conversions.length);
    const intact = (l: string) => out.filter((x) => x.startsWith(`${l}\t`)).every((x) => x.endsWith(`${l}Qterm`));
    for (const l of letters) {
      const accepted = (() => {
        try {
          frameProgram('BEGIN { printf("B\\n"); }', `${l}Qterminatorx`.slice(0, 12));
          return true;
        } catch {
          return false;
        }
      })();
      expect({ letter: l, accepted }).toEqual({ letter: l, accepted: intact(l) });
    }
  }, 150000);
});
