import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { OutputFifo } from './output-fifo.js';

/** Lines as strings, empty ones included (a printf's text may hold an empty line). */
const decoding = (push: (l: string) => void) => (buf: Buffer, start: number, end: number) => push(buf.toString('utf8', start, end));

// A real writer process, as bpftrace is: the FIFO must hand on whole lines, in order, all of them.
describe('OutputFifo', () => {
  it('hands on whole lines written in pieces, UTF-8 split across writes included, then ends', async () => {
    const lines: string[] = [];
    const fifo = new OutputFifo(decoding((l) => lines.push(l)));
    const dir = dirname(fifo.path);
    // "é" is 0xc3 0xa9: its two bytes arrive in different writes.
    const w = await execa('sh', ['-c', `printf 'one\\ntw' > "$1"; sleep 0.05; printf 'o \\303' > "$1"; sleep 0.05; printf '\\251\\n\\nthree\\n' > "$1"`, 'sh', fifo.path]);
    expect(w.exitCode).toBe(0);
    fifo.end();
    await fifo.closed;
    expect(lines).toEqual(['one', 'two é', '', 'three']);
    expect(existsSync(dir)).toBe(false);
    expect(fifo.readError).toBeUndefined();
  });

  it('loses nothing from a writer faster than the pipe (200,000 lines), and nothing after end()', async () => {
    let n = 0;
    let last = '';
    const fifo = new OutputFifo(
      decoding((l) => {
        n++;
        last = l;
      }),
    );
    const py = `import sys\nwith open(sys.argv[1], 'w') as f:\n    for i in range(200000):\n        f.write('{"type": "printf", "data": "line %d"}\\n' % i)\n        if i % 1000 == 0: f.flush()\n`;
    const w = await execa('python3', ['-c', py, fifo.path]);
    expect(w.exitCode).toBe(0);
    fifo.end();
    fifo.end(); // twice is harmless
    await fifo.closed;
    expect(n).toBe(200000);
    expect(last).toBe('{"type": "printf", "data": "line 199999"}');
  });

  it('hands on a last line the writer left unfinished (a killed bpftrace), then ends', async () => {
    const lines: string[] = [];
    const fifo = new OutputFifo(decoding((l) => lines.push(l)));
    const w = await execa('sh', ['-c', `printf 'one\\ncut sh' > "$1"`, 'sh', fifo.path]);
    expect(w.exitCode).toBe(0);
    fifo.end();
    await fifo.closed;
    expect(lines).toEqual(['one', 'cut sh']);
  });

  it('ends when no writer ever came', async () => {
    const lines: string[] = [];
    const fifo = new OutputFifo(decoding((l) => lines.push(l)));
    fifo.end();
    await fifo.closed;
    expect(lines).toEqual([]);
    expect(existsSync(fifo.path)).toBe(false);
  });
});
