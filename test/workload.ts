import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBatch, type Batch } from '@faasprov/model';
import { replayRecording } from '@faasprov/agent';
import { ROOT } from './helpers.js';

/** A real capture (faasprov run --record) replayed into chained batches, validated as a collector would (agent: NODE:SUFFIX). */
export function recordedWorkload(agent: string, node: string, per = 40): Batch[] {
  const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'recorded-capture.lines'), 'utf8').split('\n').filter(Boolean);
  const batches = replayRecording(lines, { agent, node, per, beforeLastCut: (obs) => obs.gap('perf-buffer-overflow', 7, 1, 2) });
  return batches.map((b) => parseBatch(JSON.parse(JSON.stringify(b))));
}

/** What the store must hold after every batch was applied exactly once: edge id → count. */
export function expectedCounts(batches: Batch[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of batches) for (const e of b.edges) m.set(e.id, (m.get(e.id) ?? 0) + e.count);
  return m;
}
