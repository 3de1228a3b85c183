import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS_HASH, parseBatch, type Batch } from '@faasprov/model';
import { GraphBuffer, Observer, parseLine } from '@faasprov/agent';
import { ROOT } from './helpers.js';

/** A real capture (faasprov run --record) replayed through the observer into chained batches. */
export function recordedWorkload(agent: string, node: string, per = 40): Batch[] {
  const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'recorded-capture.lines'), 'utf8').split('\n').filter(Boolean);
  const buf = new GraphBuffer();
  const obs = new Observer({ node, agent, clockOffsetNs: 1_700_000_000_000_000_000n, rootCwd: '/tmp' }, buf);
  const batches: Batch[] = [];
  let prev = GENESIS_HASH;
  const cut = () => {
    if (buf.isEmpty()) return;
    const b = buf.cut(agent, batches.length, prev);
    prev = b.hash!;
    batches.push(parseBatch(JSON.parse(JSON.stringify(b))));
  };
  lines.forEach((l, i) => {
    obs.handle(parseLine(l));
    if (i % per === per - 1) cut();
  });
  obs.gap('perf-buffer-overflow', 7, 1, 2);
  cut();
  return batches;
}

/** What the store must hold after every batch was applied exactly once: edge id → count. */
export function expectedCounts(batches: Batch[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of batches) for (const e of b.edges) m.set(e.id, (m.get(e.id) ?? 0) + e.count);
  return m;
}
