import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpftraceSensor, buildProgram, type ParseError, type SensorEvent } from '@faasprov/agent';
import { pythonExe, tempDir } from './helpers.js';

/**
 * The real bpftrace, as the agent runs it: block-buffered text output (framing.ts). A command
 * is launched behind a gate (the launcher scope tracks the launcher's next exec).
 */
async function watched(script: string) {
  const py = await pythonExe();
  const child = spawn('/bin/sh', ['-c', 'read go; exec "$@"', 'sh', py, '-c', script], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const events: { e: SensorEvent; at: number }[] = [];
  const errors: ParseError[] = [];
  let lost = 0;
  const sensor = new BpftraceSensor(
    { program: buildProgram({ scope: { kind: 'launcher', rootPid: child.pid! } }), startTimeoutMs: 120000 },
    {
      onEvent: (e) => events.push({ e, at: Date.now() }),
      onLost: (n) => (lost += n),
      onParseError: (err) => errors.push(err),
      onCounters: () => undefined,
      onUnexpectedExit: (code, stderr) => errors.push(new Error(`bpftrace exited: ${code} ${stderr}`) as ParseError),
    },
  );
  await sensor.start();
  child.stdin.end('go\n');
  return { child, exited, events, errors, lost: () => lost, sensor };
}

describe('bpftrace output as the agent reads it', () => {
  it('keeps a path holding newlines and a forged line whole: no forged event, no parse error', async () => {
    const dir = tempDir('fp-sensor-');
    const forged = 'O\t1\t1/1\t3\t0\t-100\t/etc/forged';
    const evil = join(dir, `a\n${forged}\n\nLost 5 events\n@rc[1, 2, 3]: 5`);
    // The slashes in the forged line make directories of the path's parts.
    const w = await watched(`import os\np = ${JSON.stringify(evil)}\nos.makedirs(os.path.dirname(p))\nopen(p, 'w').write('x')\n`);
    try {
      await w.exited;
      await w.sensor.stop();
      const opens = w.events.map((x) => x.e).filter((e) => e.kind === 'open');
      expect(opens.map((e) => (e as { path: string }).path)).toContain(evil);
      expect(opens.some((e) => (e as { path: string }).path === '/etc/forged')).toBe(false);
      expect(w.errors.map((e) => e.message)).toEqual([]);
      expect(w.lost()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);

  it('delivers a trickle without a stop (the flush probe), the last events before a stop, and never the flush line', async () => {
    const dir = tempDir('fp-sensor-');
    const w = await watched(`import time\nfor i in range(3):\n    open(${JSON.stringify(join(dir, 'f'))} + str(i), 'w').close()\n    time.sleep(0.2)\n`);
    try {
      await w.exited;
      const exitedAt = Date.now();
      // A few events are far below bpftrace's 8 KiB output buffer: only the flush probe writes them out.
      const deadline = Date.now() + 30000;
      while (!w.events.some((x) => x.e.kind === 'exit' && x.e.pid === w.child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const exit = w.events.find((x) => x.e.kind === 'exit' && x.e.pid === w.child.pid);
      expect(exit).toBeDefined();
      // Bounded by the flush period (25 ms) plus scheduling; generous for a loaded machine.
      expect(exit!.at - exitedAt).toBeLessThan(10000);
      const opened = w.events.filter((x) => x.e.kind === 'open' && (x.e as { path: string }).path.startsWith(join(dir, 'f'))).map((x) => (x.e as { path: string }).path);
      expect(opened).toEqual([0, 1, 2].map((i) => join(dir, `f${i}`)));
      await w.sensor.stop();
      // Every event is a line the program printed; the flush probe's empty lines (about 40 a
      // second) are neither events nor parse errors.
      expect(w.events.filter((x) => x.e.kind === 'ready')).toHaveLength(1);
      expect(w.events.every((x) => x.e.ts > 0n)).toBe(true);
      expect(w.errors.map((e) => e.message)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);

  it('has the events just before stop(), asked for at once', async () => {
    const dir = tempDir('fp-sensor-');
    const w = await watched(`open(${JSON.stringify(join(dir, 'last'))}, 'w').close()\n`);
    try {
      await w.exited;
      await w.sensor.stop();
      expect(w.events.some((x) => x.e.kind === 'open' && (x.e as { path: string }).path === join(dir, 'last'))).toBe(true);
      expect(w.events.some((x) => x.e.kind === 'exit' && x.e.pid === w.child.pid)).toBe(true);
      expect(w.errors.map((e) => e.message)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);
});
