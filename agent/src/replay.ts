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
  /**
   * The recording played this many times back to back, each pass shifted to begin 1 ms after the
   * last one ended (the same work run again and again on one node). Default 1.
   */
  repeat?: number;
  /**
   * Cut a batch every this many ns of capture time, as the agent cuts one every flush interval
   * (1 s by default), instead of every `per` lines.
   */
  cutEveryNs?: bigint;
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
  const times = lines.map((l) => parseLine(l).ts);
  const first = times.reduce((m, t) => (t < m ? t : m), times[0] ?? 0n);
  const span = times.reduce((m, t) => (t > m ? t : m), first) - first + 1_000_000n;
  let nextCut = o.cutEveryNs === undefined ? undefined : first + o.cutEveryNs;
  let i = 0;
  for (let r = 0; r < (o.repeat ?? 1); r++) {
    const shift = span * BigInt(r);
    for (const l of lines) {
      // Parsed afresh each pass: the observer may keep what it is handed.
      const e = parseLine(l);
      e.ts += shift;
      if (nextCut !== undefined && e.ts >= nextCut) {
        cut();
        while (nextCut <= e.ts) nextCut += o.cutEveryNs!;
      }
      obs.handle(e);
      if (nextCut === undefined && i % per === per - 1) cut();
      i++;
    }
  }
  o.beforeLastCut?.(obs);
  cut();
  return batches;
}
