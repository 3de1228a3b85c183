import { describe, expect, it } from '@jest/globals';
import { TextOutputReader } from './text-output.js';
import { newTerminator } from './framing.js';

/** Feeds `text` as the FIFO reader would: one call per newline-ended line. */
function read(term: string, text: string) {
  const out = { printf: [] as string[], own: [] as string[], broken: [] as string[] };
  const r = new TextOutputReader(term, { onPrintf: (t) => out.printf.push(t), onOwnLine: (l) => out.own.push(l), onBroken: (t) => out.broken.push(t) });
  const buf = Buffer.from(text, 'utf8');
  let start = 0;
  for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
    r.line(buf, start, nl);
    start = nl + 1;
  }
  r.end();
  return out;
}

describe('TextOutputReader', () => {
  const T = newTerminator();

  it('hands on each printf without its terminator, and bpftrace own lines apart', () => {
    const out = read(T, `Attaching 9 probes...\nB\t1${T}\nR\t2\t3/3\t1\t4\t64${T}\n\n@rc[1, 2, 3]: 5\nLost 7 events\nz\t9${T}\n`);
    expect(out.printf).toEqual(['B\t1', 'R\t2\t3/3\t1\t4\t64', 'z\t9']);
    // The flush probe's empty line is nothing at all.
    expect(out.own).toEqual(['Attaching 9 probes...', '@rc[1, 2, 3]: 5', 'Lost 7 events']);
    expect(out.broken).toEqual([]);
  });

  it('keeps a path with newlines whole: a line forged inside it stays part of the path', () => {
    const forged = 'O\t5\t6/6\t3\t0\t-100\t/etc/shadow';
    const path = `/tmp/a\n${forged}\n\nLost 99 events\n@rc[1, 2, 3]: 5\n`;
    const out = read(T, `O\t4\t6/6\t3\t0\t-100\t${path}${T}\nL\t7\t6\t1\t3\t0\t0\t0\t0${T}\n`);
    expect(out.printf).toEqual([`O\t4\t6/6\t3\t0\t-100\t${path}`, 'L\t7\t6\t1\t3\t0\t0\t0\t0']);
    expect(out.own).toEqual([]);
  });

  it('reports a printf that never ends instead of dropping it or running on forever', () => {
    expect(read(T, `O\t4\t6/6\t3\t0\t-100\t/tmp/a\nb\n`).broken).toEqual(['O\t4\t6/6\t3\t0\t-100\t/tmp/a\nb']);
    const long = read(T, `O\t1\t2\t3\t0\t-100\t/x\n${'y\n'.repeat(10000)}R\t2\t3/3\t1\t4\t64${T}\n`);
    expect(long.broken.length).toBe(1);
    expect(long.printf.length).toBeLessThanOrEqual(1);
  });

  it('does not take a guessed terminator of another run', () => {
    const other = newTerminator();
    const out = read(T, `R\t2\t3/3\t1\t4\t64${other}\n`);
    expect(out.printf).toEqual([]);
    expect(out.broken.length).toBe(1);
  });
});
