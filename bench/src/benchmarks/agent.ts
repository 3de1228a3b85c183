import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeAgent } from '@faasprov/agent';
import { AgentTokens, ApiKeys } from '@faasprov/collector';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import { gapTotals, lossFigures, metricValue as value } from './accounting.js';
import type { Benchmark } from './index.js';

// Opens a file, reads it in 4 KiB chunks to the end, closes it: the kernel prints one read per fd.
const READER = `
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    fd = os.open(path, os.O_RDONLY)
    while os.read(fd, 4096): pass
    os.close(fd)
`;

// Paced open/read/close of a small file: rate iterations per second for secs seconds (3 events each).
const PACED = `
import os, sys, time
path, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.time(); done = 0
while time.time() - start < secs:
    target = int((time.time() - start) * rate)
    while done < target:
        fd = os.open(path, os.O_RDONLY); os.read(fd, 64); os.close(fd); done += 1
    time.sleep(0.001)
print(done)
`;

/** A step passes only if the agent had read all its events this soon after the producer ended. */
const KEPT_UP_MS = 250;

/** The node agent: in-kernel reduction ratio, and the highest event rate it takes without loss. */
export const agentBench: Benchmark = {
  name: 'agent',
  description: 'reduction ratio (raw syscalls of a watched tree vs events printed and shipped) and the highest zero-loss event rate',
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace)' };
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-agent-'));
    const wd = join(dir, 'fpbenchwd');
    copyFileSync('/bin/dash', wd);
    const py = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(1024 * 1024, 7));
    const small = join(dir, 'small');
    writeFileSync(small, 'x'.repeat(64));
    const store = new SqliteGraphStore(join(dir, 's.db'));
    const token = 'bench-token-0123456789abcdef';
    const app = await buildServer({ store, keys: new ApiKeys([], AgentTokens.parse([`bench=${token}`])) });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const agent = new NodeAgent({ collector: url, token, node: 'bench', watchComms: ['fpbenchwd'], spoolDir: join(dir, 'spool'), countRaw: true, counterFlushSec: 1, log: () => undefined });
    try {
      await agent.start();
      progress('agent started');
      // Asynchronous on purpose: the agent reads bpftrace's output on this process's event loop.
      const inTree = (args: string[]) =>
        new Promise<{ stdout: string }>((resolve, reject) => {
          const c = spawn(wd, ['-c', '"$@"', 'fpbenchwd', ...args], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 120000 });
          let stdout = '';
          c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          c.on('error', reject);
          c.on('close', () => resolve({ stdout }));
        });
      const seen0 = await value(agent, 'faasprov_agent_events_seen_total');
      await inTree([py, '-c', READER, big, '200']);
      await new Promise((r) => setTimeout(r, 2500));
      const raw = await value(agent, 'faasprov_agent_raw_syscalls');
      const printed = (await value(agent, 'faasprov_agent_events_seen_total')) - seen0;
      progress(`reduction: ${raw} raw syscalls, ${printed} events printed`);
      // One paced step: 2 s at `rate` iterations per second; ok when nothing was lost, the
      // producer kept within 10% of the pace, and the agent kept up: it had read every event
      // within KEPT_UP_MS of the producer's end. Without that last test a ring buffer big enough
      // to hold a second of events would pass rates the agent cannot sustain.
      const step = async (rate: number) => {
        const lost0 = await value(agent, 'faasprov_agent_events_lost_total');
        const seen0 = await value(agent, 'faasprov_agent_events_seen_total');
        const r = await inTree([py, '-c', PACED, small, String(rate), '2']);
        const ended = Date.now();
        const iterations = Number(r.stdout.trim());
        let lagMs = -1;
        while (Date.now() - ended < 1500) {
          if ((await value(agent, 'faasprov_agent_events_seen_total')) - seen0 >= iterations * 3) {
            lagMs = Date.now() - ended;
            break;
          }
          await new Promise((res) => setTimeout(res, 10));
        }
        await new Promise((res) => setTimeout(res, Math.max(0, 1500 - (Date.now() - ended))));
        const lost = (await value(agent, 'faasprov_agent_events_lost_total')) - lost0;
        const eventsPerSec = (iterations * 3) / 2;
        const keptUp = lagMs >= 0 && lagMs <= KEPT_UP_MS;
        progress(`paced ${rate}/s: ${iterations} iterations, ${eventsPerSec.toFixed(0)} events/s, lost ${lost}, all read ${lagMs >= 0 ? `${lagMs} ms after the producer` : 'not within 1.5 s'}`);
        return { eventsPerSec, lost, keptUp, ok: lost === 0 && keptUp && iterations >= rate * 2 * 0.9 };
      };
      let best = 0;
      let firstLossy = 0;
      let firstBehind = 0;
      let producerLimited = false;
      const failed = (r: { eventsPerSec: number; lost: number; keptUp: boolean }) => {
        if (r.lost > 0) firstLossy = firstLossy === 0 ? r.eventsPerSec : Math.min(firstLossy, r.eventsPerSec);
        else if (!r.keptUp) firstBehind = firstBehind === 0 ? r.eventsPerSec : Math.min(firstBehind, r.eventsPerSec);
        else producerLimited = true;
      };
      // Doubling rates until a step fails, then three bisection steps between the last good
      // rate and the failed one: the ceiling to within about 1/16 of it, not a factor of 2.
      let good = 0;
      let bad = 0;
      for (let rate = 2000, n = 0; n < 8; n++, rate *= 2) {
        const r = await step(rate);
        if (!r.ok) {
          failed(r);
          bad = rate;
          break;
        }
        best = Math.max(best, r.eventsPerSec);
        good = rate;
      }
      for (let n = 0; n < 3 && bad > 0 && good > 0; n++) {
        const rate = Math.round((good + bad) / 2);
        const r = await step(rate);
        if (r.ok) {
          best = Math.max(best, r.eventsPerSec);
          good = rate;
        } else {
          failed(r);
          bad = rate;
        }
      }
      // The lossy step must show up as Gaps: give the agent a moment to ship them.
      await new Promise((r) => setTimeout(r, 2000));
      const loss = lossFigures(await value(agent, 'faasprov_agent_events_lost_total'), await gapTotals(store));
      return {
        rawSyscalls: raw,
        eventsPrinted: printed,
        rawOverPrintedRatio: printed > 0 ? raw / printed : 0,
        maxZeroLossEventsPerSec: best,
        firstLossyEventsPerSec: firstLossy,
        // A step without loss whose events the agent had not all read within KEPT_UP_MS.
        firstBehindEventsPerSec: firstBehind,
        // A step failed because the watched loop could not keep the pace (the producer's ceiling, not the agent's).
        producerLimited: producerLimited ? 'yes' : 'no',
        ...loss,
      };
    } finally {
      await agent.stop(5000);
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
