import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch, FileNode } from '@faasprov/model';
import { NodeAgent } from './daemon.js';
import { FileVersions } from './observer/versions.js';
import type { Observer } from './observer/observer.js';
import { DiskSpool } from './ship/spool.js';
import { parseLine } from './sensor/parse.js';

/** Stands for a kill -9: nothing after it runs. */
class Killed extends Error {}

/** The daemon's private parts this test drives: its observer and one batch interval. */
type Inside = { observer: Observer; tick(): void };

/**
 * A kill -9 at either side of the spool's append, as the crash suite's agent kill hits it at
 * random: the restarted agent must continue the version chain of every write the spool kept (a
 * read after the restart points to the version the write made), and a write the spool lost must
 * lie after the spool's last event (where the agent-down Gap begins).
 */
describe('agent killed around the spooling of a batch', () => {
  for (const when of ['after', 'before'] as const) {
    it(`kill -9 just ${when} the append: the restarted agent's versions and its spool agree`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'fp-kill-spool-'));
      try {
        const spoolDir = join(dir, 'spool');
        const path = join(dir, 'in-1');
        writeFileSync(path, '1\n');
        const agent = new NodeAgent({ collector: 'http://127.0.0.1:9', watchComms: ['fpwd'], spoolDir, node: 'n1', flushIntervalMs: 0 });
        const inside = agent as unknown as Inside;
        // A shell (pid 4000001) writes the file: exec, open O_WRONLY|O_CREAT|O_TRUNC, write, close; at kernel times just after the file's mtime.
        const t0 = process.hrtime.bigint();
        const ts = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n);
        for (const l of [
          `X\t${ts(1)}\t4000001\t1\t1\t0\t0\t/usr/bin/sh`,
          `O\t${ts(2)}\t4000001\t3\t577\t-100\t${path}`,
          `W\t${ts(3)}\t4000001\t1\t3\t2`,
          `L\t${ts(4)}\t4000001\t1\t3\t0\t0\t1\t2`,
        ]) inside.observer.handle(parseLine(l));
        let cut: Batch | undefined;
        const append = agent.spool.append.bind(agent.spool);
        agent.spool.append = (batch: Batch) => {
          cut = batch;
          if (when === 'after') append(batch);
          throw new Killed();
        };
        expect(() => inside.tick()).toThrow(Killed);
        agent.spool.close();

        // The restart: what the next agent reads from the spool dir.
        const versions = new FileVersions(join(spoolDir, 'versions.jsonl'));
        const spool = new DiskSpool({ dir: spoolDir, node: 'n1' });
        try {
          const written = cut!.nodes.find((n): n is FileNode => n.type === 'File' && n.path === path)!;
          expect(cut!.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.from === written.id)).toBe(true);
          // Spooled: stored later. Not spooled: lost inside the agent-down Gap, which starts at the spool's last event (none here).
          expect(spool.resume?.lastSeq).toBe(when === 'after' ? cut!.seq : undefined);
          // Either way a read after the restart meets the version the write made (the file holds
          // what it wrote): after the append that is the stored write, else a version inside the Gap.
          expect(versions.version(path)).toBe(written.version);
          expect(versions.stale).toBe(0);
        } finally {
          spool.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
