import { GENESIS_HASH, type Batch } from '@faasprov/model';
import { GraphBuffer } from './observer/graph-buffer.js';
import { Observer } from './observer/observer.js';
import { parseLine } from './sensor/parse.js';

export interface ReplayOptions {
  agent: string;
  node: string;
  /** Kernel lines per batch. */
  per?: number;
  /** Kernel ns + offset = epoch ns; fixed by default, so a replay is deterministic. */
  clockOffsetNs?: bigint;
  /** Called before the last batch is cut (to add what the recording lacks, such as a gap). */
  beforeLastCut?: (obs: Observer) => void;
}

/**
 * Replays kernel lines recorded by `faasprov run --record` through the observer into numbered,
 * hash-chained batches, as an agent would have shipped them.
 */
export function replayRecording(lines: readonly string[], o: ReplayOptions): Batch[] {
  const per = o.per ?? 40;
  const buf = new GraphBuffer(false);
  const obs = new Observer({ node: o.node, agent: o.agent, clockOffsetNs: o.clockOffsetNs ?? 1_700_000_000_000_000_000n, rootCwd: '/tmp' }, buf);
  const batches: Batch[] = [];
  let prev = GENESIS_HASH;
  const cut = () => {
    if (buf.isEmpty()) return;
    const b = buf.cut(o.agent, batches.length, prev);
    prev = b.hash!;
    batches.push(b);
  };
  lines.forEach((l, i) => {
    obs.handle(parseLine(l));
    if (i % per === per - 1) cut();
  });
  o.beforeLastCut?.(obs);
  cut();
  return batches;
}
