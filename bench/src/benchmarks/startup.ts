import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AgentTokens, ApiKeys } from '@faasprov/collector';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import type { Benchmark } from './index.js';

const FAASPROV = resolve(import.meta.dirname, '..', '..', '..', 'cli', 'bin', 'faasprov');
const ROUNDS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Runs the CLI; resolves with its exit code and stderr, or rejects after `ms`. */
function cli(args: string[], ms: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res, rej) => {
    const c = spawn(FAASPROV, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      rej(new Error(`faasprov ${args[0]} took over ${ms} ms: ${stderr}`));
    }, ms);
    c.on('exit', (code) => {
      clearTimeout(t);
      res({ code, stderr });
    });
  });
}

/** `faasprov agent`: seconds from spawn to "running as" (every probe attached), and from SIGTERM to exit. */
function agentOnce(args: string[], ms: number): Promise<{ attach: number; stop: number; stderr: string }> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(FAASPROV, ['agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let attach = -1;
    let t1 = 0n;
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      rej(new Error(`faasprov agent did not start and stop within ${ms} ms: ${stderr}`));
    }, ms);
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (attach < 0 && stderr.includes('faasprov agent: running as')) {
        attach = seconds(t0);
        t1 = process.hrtime.bigint();
        c.kill('SIGTERM');
      }
    });
    c.on('exit', (code) => {
      clearTimeout(t);
      if (attach < 0 || code !== 0) rej(new Error(`faasprov agent exited ${code} before it ran: ${stderr}`));
      else res({ attach, stop: seconds(t1), stderr });
    });
  });
}

/** Start-up and stop as a user sees them: `faasprov run -- true`, and the agent's attach and stop. */
export const startup: Benchmark = {
  name: 'startup',
  description: `faasprov run -- true from start to exit; faasprov agent from start to attached and from SIGTERM to exit (medians of ${ROUNDS})`,
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace)' };
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-startup-'));
    const runs: number[] = [];
    const attaches: number[] = [];
    const stops: number[] = [];
    let warnings = 0;
    let gaps = 0;
    const store = new SqliteGraphStore(join(dir, 'collector.db'));
    const token = 'bench-token-0123456789abcdef';
    const app = await buildServer({ store, keys: new ApiKeys([], AgentTokens.parse([`bench=${token}`])) });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    // A watched name nothing runs: the agent's own cost, not a workload's.
    copyFileSync('/bin/dash', join(dir, 'fpbenchidle'));
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const db = join(dir, `run-${i}.db`);
        const t0 = process.hrtime.bigint();
        const r = await cli(['run', '--store', db, '--format', 'json', '--out', join(dir, `g-${i}.json`), '--', 'true'], 300000);
        runs.push(seconds(t0));
        if (r.code !== 0) throw new Error(`startup: faasprov run -- true exited ${r.code}: ${r.stderr}`);
        if (/warning|\(node:/i.test(r.stderr)) warnings++;
        const s = new SqliteGraphStore(db);
        gaps += (await s.all()).nodes.filter((n) => n.type === 'Gap').length;
        await s.close();
        const a = await agentOnce(
          ['--collector', url, '--node', 'bench', '--token', token, '--watch-comm', 'fpbenchidle', '--spool', join(dir, `spool-${i}`), '--metrics', 'off', '--otlp', 'off'],
          300000,
        );
        attaches.push(a.attach);
        stops.push(a.stop);
        if (/warning|\(node:/i.test(a.stderr)) warnings++;
        progress(`round ${i + 1}: run -- true ${runs.at(-1)!.toFixed(2)} s, agent attached ${a.attach.toFixed(2)} s, stopped ${a.stop.toFixed(2)} s`);
      }
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      rounds: ROUNDS,
      runTrueSec: median(runs),
      runTrueMaxSec: Math.max(...runs),
      agentAttachSec: median(attaches),
      agentStopSec: median(stops),
      gapsInRunTrue: gaps,
      runsOrAgentsWithWarnings: warnings,
    };
  },
};
