import { describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { replayRecording } from '@faasprov/agent';
import { ROOT, tempDir } from './helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'collector-cpu.mjs');
const RECORDING = join(ROOT, 'test', 'fixtures', 'recorded-capture.lines');

interface Out {
  batches: number;
  rows: number;
  roots: { cpuMs: number[]; usPerRow: number; usPerEvent?: number; digests: string[] }[];
}

describe('scripts/collector-cpu.mjs', () => {
  it("replays an agent's batches into a fresh collector, measures its CPU, and hashes what it stored", async () => {
    const dir = tempDir('fp-collector-cpu-');
    try {
      const lines = readFileSync(RECORDING, 'utf8').split('\n').filter(Boolean);
      const batches = replayRecording(lines, { agent: 'bench:cpu', node: 'bench', repeat: 4, cutEveryNs: 100_000_000n });
      expect(batches.length).toBeGreaterThan(1);
      const all = join(dir, 'all.jsonl');
      const fewer = join(dir, 'fewer.jsonl');
      writeFileSync(all, batches.map((b) => `${JSON.stringify(b)}\n`).join(''));
      writeFileSync(fewer, batches.slice(0, -1).map((b) => `${JSON.stringify(b)}\n`).join(''));
      const run = async (file: string, reps: number) =>
        JSON.parse((await execa(process.execPath, [SCRIPT, '--batches', file, '--reps', String(reps), '--dump', '--json', '--warm', '1', '--events', String(lines.length * 4)], { cwd: ROOT })).stdout) as Out;
      const r = await run(all, 2);
      expect(r.batches).toBe(batches.length);
      expect(r.rows).toBe(batches.reduce((n, b) => n + b.nodes.length + b.edges.length, 0));
      expect(r.roots).toHaveLength(1);
      expect(r.roots[0]!.cpuMs).toHaveLength(2);
      for (const ms of r.roots[0]!.cpuMs) expect(ms).toBeGreaterThan(0);
      expect(r.roots[0]!.usPerEvent).toBeGreaterThan(0);
      // Two fresh collectors stored the same content; one batch less is another content.
      expect(r.roots[0]!.digests).toHaveLength(1);
      const less = await run(fewer, 1);
      expect(less.roots[0]!.digests).toHaveLength(1);
      expect(less.roots[0]!.digests[0]).not.toBe(r.roots[0]!.digests[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to use it, and refuses a missing or foreign batches file', async () => {
    const help = await execa(process.execPath, [SCRIPT, '--help']);
    expect(help.stdout).toMatch(/--batches FILE/);
    const none = await execa(process.execPath, [SCRIPT, '--reps', '2'], { reject: false });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/--batches is required/);
    const dir = tempDir('fp-collector-cpu-');
    try {
      const bad = join(dir, 'bad.jsonl');
      writeFileSync(bad, '{"hello": 1}\n');
      const foreign = await execa(process.execPath, [SCRIPT, '--batches', bad], { reject: false });
      expect(foreign.exitCode).toBe(2);
      expect(foreign.stderr).toMatch(/bad\.jsonl:1: not a batch/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
