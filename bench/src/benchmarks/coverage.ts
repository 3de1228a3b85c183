import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COVERAGE_ACTIONS } from '../host-coverage/actions.js';
import { runCoverage, scoreCoverage } from '../host-coverage/run.js';
import type { Benchmark } from './index.js';

/** Capture coverage: attacker-like actions whose artifact reached the graph, and their alerts raised. */
export const coverage: Benchmark = {
  name: 'coverage',
  description: `capture coverage: of ${COVERAGE_ACTIONS.length} attacker-like actions (bench/src/host-coverage/actions.ts), how many left their artifact in the graph, made by the right process, and raised their alert`,
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace)' };
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-coverage-'));
    try {
      const t = Date.now();
      const run = await runCoverage(dir);
      const s = scoreCoverage(run);
      for (const m of s.missed) progress(`missed ${m.id}: ${m.why}`);
      return {
        actions: COVERAGE_ACTIONS.length,
        actionsCaptured: s.captured.length,
        capturedRatio: s.captured.length / COVERAGE_ACTIONS.length,
        alertsExpected: s.alertsExpected,
        alertsRaised: s.alerted,
        edgesStored: run.graph.edges.length,
        runSec: (Date.now() - t) / 1000,
        captureLossFree: run.stderr.includes('nothing lost') ? 'yes' : 'no',
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
