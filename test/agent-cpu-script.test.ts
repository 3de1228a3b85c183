import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { GENESIS_HASH, batchHash, parseBatch } from '@faasprov/model';
import { ROOT, tempDir } from './helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'agent-cpu.mjs');
const RECORDING = join(ROOT, 'test', 'fixtures', 'recorded-capture.lines');

describe('scripts/agent-cpu.mjs', () => {
  it('replays a recording through the agent\'s path into valid chained batches, and its digest is theirs', async () => {
    const dir = tempDir('fp-agent-cpu-');
    try {
      const out = join(dir, 'batches.jsonl');
      const r = await execa(process.execPath, [SCRIPT, '--recording', RECORDING, '--passes', '2', '--reps', '2', '--json', '--out', out], { cwd: ROOT });
      const res = JSON.parse(r.stdout) as { events: number; batches: number; perEventUs: number[]; digest: string; stats: { unknownProcess: number } };
      const printfs = readFileSync(RECORDING, 'utf8').split('\n').filter((l) => /^[A-Za-z]\t/.test(l)).length;
      expect(res.events).toBe(2 * printfs);
      expect(res.stats.unknownProcess).toBe(0);
      expect(res.perEventUs).toHaveLength(2);
      for (const us of res.perEventUs) expect(us).toBeGreaterThan(0);
      const text = readFileSync(out, 'utf8');
      expect(createHash('sha256').update(text).digest('hex')).toBe(res.digest);
      const lines = text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(res.batches);
      let prev = GENESIS_HASH;
      for (const line of lines) {
        const b = parseBatch(JSON.parse(line));
        expect(JSON.stringify(b)).toBe(line);
        expect(b.prev).toBe(prev);
        expect(b.hash).toBe(batchHash(b));
        prev = b.hash!;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to use it, and refuses to run without a recording', async () => {
    const help = await execa(process.execPath, [SCRIPT, '--help']);
    expect(help.stdout).toMatch(/--recording FILE/);
    const bad = await execa(process.execPath, [SCRIPT, '--passes', '2'], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--recording is required/);
  });
});
