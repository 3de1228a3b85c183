import { batchHash, gapId, type Batch, type GapNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

/**
 * Checks a batch against its agent's hash chain. A batch whose content does not match its hash,
 * whose prev is not the stored predecessor's hash, or that skips sequence numbers is stored
 * anyway (an incomplete fact beats a missing one) with a Gap of cause tamper-or-loss.
 */
export async function chainGap(store: GraphStore, b: Batch): Promise<GapNode | undefined> {
  if (b.hash === undefined && b.prev === undefined) return undefined;
  const problems: string[] = [];
  if (b.hash !== undefined && batchHash(b) !== b.hash) problems.push(`batch ${b.seq} does not match its hash`);
  const before = await store.batchInfo(b.agent, b.seq - 1);
  if (before) {
    if (before.hash !== undefined && b.prev !== before.hash) problems.push(`batch ${b.seq} does not chain to batch ${b.seq - 1}`);
  } else {
    const last = await store.batchInfo(b.agent);
    if (last && last.seq < b.seq - 1) problems.push(`batches ${last.seq + 1}..${b.seq - 1} never arrived`);
  }
  if (problems.length === 0) return undefined;
  const times = b.edges.flatMap((e) => [e.firstTime, e.lastTime]);
  const from = times.length > 0 ? Math.min(...times) : (b.sentAt ?? Date.now() * 1000);
  const to = times.length > 0 ? Math.max(...times) : from;
  const cause = 'tamper-or-loss';
  // One gap per broken batch: the batch's seq keeps two such gaps apart.
  return { id: gapId(b.agent, cause, from, b.seq), type: 'Gap', agent: b.agent, cause, from, to, count: b.edges.length, seq: b.seq, detail: problems.join('; ') };
}
