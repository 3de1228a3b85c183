import { batchHash, gapId, type Batch, type GapNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

/**
 * Checks a batch against its agent's hash chain. A batch whose content does not match its hash,
 * or that does not chain to a stored neighbour (prev against the predecessor's hash, its own
 * hash against the successor's prev), is stored anyway (an incomplete fact beats a missing one)
 * with a Gap of cause tamper-or-loss. A batch that never arrives leaves a hole in the sequence
 * that an audit of the batch records finds; it is not seen here.
 */
export async function chainGap(store: GraphStore, b: Batch): Promise<GapNode | undefined> {
  if (b.hash === undefined && b.prev === undefined) return undefined;
  const problems: string[] = [];
  if (b.hash !== undefined && batchHash(b) !== b.hash) problems.push(`batch ${b.seq} does not match its hash`);
  // Collectors may commit an agent's batches out of order (several share one stream), so each
  // link is checked by whichever of its two batches arrives second.
  const [before, after] = await Promise.all([store.batchInfo(b.agent, b.seq - 1), store.batchInfo(b.agent, b.seq + 1)]);
  if (before?.hash !== undefined && b.prev !== before.hash) problems.push(`batch ${b.seq} does not chain to batch ${b.seq - 1}`);
  if (after?.prev !== undefined && b.hash !== undefined && after.prev !== b.hash) problems.push(`batch ${b.seq + 1} does not chain to batch ${b.seq}`);
  if (problems.length === 0) return undefined;
  const times = b.edges.flatMap((e) => [e.firstTime, e.lastTime]);
  const from = times.length > 0 ? Math.min(...times) : (b.sentAt ?? Date.now() * 1000);
  const to = times.length > 0 ? Math.max(...times) : from;
  const cause = 'tamper-or-loss';
  // One gap per broken batch: the batch's seq keeps two such gaps apart.
  return { id: gapId(b.agent, cause, from, b.seq), type: 'Gap', agent: b.agent, cause, from, to, count: b.edges.length, seq: b.seq, detail: problems.join('; ') };
}
