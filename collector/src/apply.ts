import { parseBatch } from '@faasprov/model';
import type { ApplyResult, GraphStore } from '@faasprov/store';
import type { CollectorMetrics } from './metrics.js';
import { chainGap } from './chain.js';
import { resolveVolumeReads } from './volume-reads.js';

export type ApplyOutcome = ApplyResult & { status: 'stored' | 'duplicate' };

/**
 * The one path every batch takes, whatever carried it: validate it whole (throws a
 * FaasprovError naming the first bad field, storing nothing), then apply it in one
 * transaction that dedupes by (agent, seq). Returns only after the commit.
 */
export async function applyBatch(store: GraphStore, body: unknown, metrics?: CollectorMetrics): Promise<ApplyOutcome> {
  let batch;
  try {
    batch = parseBatch(body);
  } catch (err) {
    if (metrics) metrics.batches.invalid++;
    throw err;
  }
  const gap = (await store.batchInfo(batch.agent, batch.seq)) ? undefined : await chainGap(store, batch);
  if (gap) {
    batch.nodes.push(gap);
    if (metrics) metrics.chainBreaks++;
  }
  await resolveVolumeReads(store, batch);
  const r = await store.applyBatch(batch);
  if (metrics) {
    if (r.applied) {
      metrics.batches.stored++;
      metrics.nodes += r.nodes;
      metrics.edges += r.edges;
    } else metrics.batches.duplicate++;
  }
  return { ...r, status: r.applied ? 'stored' : 'duplicate' };
}
