import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteGraphStore } from '@faasprov/store';
import { gapTotals, lossFigures } from './accounting.js';
import type { Benchmark } from './index.js';

const FAASPROV = resolve(import.meta.dirname, '..', '..', '..', 'cli', 'bin', 'faasprov');

// The workload times itself, so bpftrace's start-up is not counted: only the cost per syscall.
const WORKLOAD = `
import os, sys, time
n = int(sys.argv[1]); path = sys.argv[2]
with open(path, "w") as f: f.write("x" * 4096)
t = time.perf_counter()
for i in range(n):
    fd = os.open(path, os.O_RDONLY); os.read(fd, 4096); os.close(fd)
print(time.perf_counter() - t)
`;

/** A loop of open/read/close, timed inside the process, with and without faasprov run, interleaved. */
export const captureOverhead: Benchmark = {
  name: 'capture-overhead',
  description: 'open/read/close loop (20k iterations) with vs without faasprov run, interleaved 3 times',
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace)' };
    const py = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-'));
    const file = join(dir, 'data');
    const n = 20000;
    const plain: number[] = [];
    const traced: number[] = [];
    let lost = 0;
    const inGaps = { events: 0, blindWindows: 0 };
    try {
      for (let round = 0; round < 3; round++) {
        const a = spawnSync(py, ['-c', WORKLOAD, String(n), file], { encoding: 'utf8', timeout: 120000 });
        plain.push(Number(a.stdout.trim()));
        const db = join(dir, `s${round}.db`);
        const b = spawnSync(FAASPROV, ['run', '--store', db, '--out', join(dir, 'g.txt'), '--', py, '-c', WORKLOAD, String(n), file], {
          encoding: 'utf8',
          timeout: 300000,
        });
        if (b.status !== 0) throw new Error(`capture-overhead: faasprov run failed: ${b.stderr}`);
        traced.push(Number(b.stdout.trim()));
        // run's summary line says what bpftrace lost; the store must hold Gaps for as many.
        lost += Number(/LOST (\d+) events/.exec(b.stderr)?.[1] ?? 0);
        const store = new SqliteGraphStore(db);
        const g = await gapTotals(store);
        inGaps.events += g.events;
        inGaps.blindWindows += g.blindWindows;
        await store.close();
        progress(`round ${round + 1}: plain ${plain.at(-1)!.toFixed(3)} s, captured ${traced.at(-1)!.toFixed(3)} s`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    return {
      iterations: n,
      syscallsPerIteration: 3,
      plainMedianSec: med(plain),
      capturedMedianSec: med(traced),
      capturedOverPlainRatio: med(traced) / med(plain),
      ...lossFigures(lost, inGaps),
    };
  },
};
