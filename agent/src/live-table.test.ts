import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveTable } from './live-table.js';
import { FileVersions } from './observer/versions.js';
import type { SeedProcess } from './observer/observer.js';

const withDir = (f: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-restart-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
const seed = (pid: number, start: number): SeedProcess => ({ pid, ppid: 1, start, exe: '/bin/sh', argv: [], cwd: '/', fds: new Map(), root: true });

describe('what a restarted agent remembers', () => {
  it('gives a process found in /proc the start it had before, only if it is the same process', () =>
    withDir((dir) => {
      const T = 1_790_000_000_000_000;
      new LiveTable(join(dir, 'live.json')).save([{ pid: 10, start: T + 3_456 }, { pid: 20, start: T + 100 }], T + 5_000_000);
      const again = new LiveTable(join(dir, 'live.json'));
      // pid 10 forked at T (/proc's tick), exec'd at T+3456 (the id's start); pid 20 is a new process that reused the pid after the agent last saw it.
      const seeds = [seed(10, T), seed(20, T + 9_000_000), seed(30, T)];
      expect(again.canonical(seeds)).toBe(1);
      expect(seeds.map((s) => s.start)).toEqual([T + 3_456, T + 9_000_000, T]);
    }));

  it('rewrites its file only when the set of live processes changed, and still tells a reused pid apart', () =>
    withDir((dir) => {
      const T = 1_790_000_000_000_000;
      const file = join(dir, 'live.json');
      const t = new LiveTable(file);
      expect(t.save([{ pid: 10, start: T + 3_456 }], T + 5_000_000)).toBe(true);
      // A second later, the same process: nothing to write.
      expect(t.save([{ pid: 10, start: T + 3_456 }], T + 6_000_000)).toBe(false);
      const again = new LiveTable(file);
      // pid 10 is the same process; pid 10 reused by a process that started after the agent last saw the first is not.
      expect(again.canonical([seed(10, T)])).toBe(1);
      expect(new LiveTable(file).canonical([seed(10, T + 5_500_000)])).toBe(0);
      // A new process: the file is rewritten, with it.
      expect(t.save([{ pid: 10, start: T + 3_456 }, { pid: 11, start: T + 6_500_000 }], T + 7_000_000)).toBe(true);
      const seeds = [seed(11, T + 6_500_000)];
      expect(new LiveTable(file).canonical(seeds)).toBe(1);
      // A process gone: rewritten too.
      expect(t.save([{ pid: 11, start: T + 6_500_000 }], T + 8_000_000)).toBe(true);
      expect(new LiveTable(file).canonical([seed(10, T)])).toBe(0);
    }));

  it('journals file versions with their tenant; a file changed after the agent last knew it starts over', () =>
    withDir((dir) => {
      const journal = join(dir, 'versions.jsonl');
      const [kept, changed] = [join(dir, 'kept'), join(dir, 'changed')];
      writeFileSync(kept, 'a');
      writeFileSync(changed, 'b');
      const now = Date.now() * 1000;
      const v = new FileVersions(journal);
      const kv = v.next(kept, now - 2_000_000, 'team-a', kept);
      v.next(changed, now - 2_000_000, undefined, changed);
      v.next('/tmp/gone-later', now - 2_000_000, undefined, '/tmp/gone-later');
      v.delete('/tmp/gone-later');
      // The files were last written before the agent's newest event: both are known.
      utimesSync(kept, new Date((now - 3_000_000) / 1000), new Date((now - 3_000_000) / 1000));
      v.persist(now - 1_000_000);
      // Changed while the agent was down.
      utimesSync(changed, new Date(now / 1000 + 1000), new Date(now / 1000 + 1000));
      const again = new FileVersions(journal);
      expect(again.get(kept)).toEqual({ version: kv, tenant: 'team-a', path: kept });
      expect(again.version(changed)).toBe(0);
      expect(again.version('/tmp/gone-later')).toBe(0);
      expect(again.stale).toBe(1);
      // Versions only grow across the restart.
      expect(again.next(kept, kv - 10, 'team-a', kept)).toBe(kv + 1);
    }));
});
