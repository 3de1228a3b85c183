import { describe, expect, it } from '@jest/globals';
import { FLUSH_MS, TERMINATOR_LENGTH, frameProgram, newTerminator } from './framing.js';
import { buildProgram } from './program.js';

describe('frameProgram', () => {
  const program = buildProgram({ scope: { kind: 'watch', comms: ['fwatchdog'], seedPids: [1] }, countRaw: true });
  const term = newTerminator();

  it('ends every printf of the generated program with the terminator before its newline', () => {
    const framed = frameProgram(program, term);
    const formats = [...framed.matchAll(/\bprintf\("((?:[^"\\\n]|\\.)*)"/g)].map((m) => m[1]!);
    expect(formats.length).toBe([...program.matchAll(/\bprintf\("/g)].length);
    expect(formats.length).toBeGreaterThan(20);
    for (const f of formats) expect(f.endsWith(`${term}\\n`)).toBe(true);
    // Nothing else changed.
    expect(framed.replaceAll(term, '').startsWith(program)).toBe(true);
  });

  it('adds the flush probe: an empty line printed every FLUSH_MS', () => {
    expect(frameProgram(program, term)).toContain(`interval:ms:${FLUSH_MS} { print(""); }`);
    expect(FLUSH_MS).toBeLessThanOrEqual(100);
  });

  it('refuses a printf that does not end its line, and a terminator that is not letters', () => {
    expect(() => frameProgram('BEGIN { printf("B\\t%d", 1); }', term)).toThrow(/must end its line/);
    expect(() => frameProgram(program, 'ab%d')).toThrow(/letters/);
  });

  it('never starts a terminator with h or x, which bpftrace would read as part of %rh or %rx', () => {
    for (let i = 0; i < 5000; i++) expect(newTerminator()[0]).not.toMatch(/[hx]/);
    expect(() => frameProgram(program, 'xAbcdefghijk')).toThrow(/h or x/);
    expect(() => frameProgram(program, 'hAbcdefghijk')).toThrow(/h or x/);
  });

  it('draws a new terminator of letters each time', () => {
    const a = newTerminator();
    const b = newTerminator();
    expect(a).toMatch(new RegExp(`^[A-Za-z]{${TERMINATOR_LENGTH}}$`));
    expect(a).not.toBe(b);
  });
});
