import { batchOriginError, parseBatch } from '@faasprov/model';
import type { ApplyResult, GraphStore } from '@faasprov/store';
import type { CollectorMetrics } from './metrics.js';
import { chainGap } from './chain.js';
import { resolveVolumeReads } from './volume-reads.js';
import type { RuleEngine } from './rules/engine.js';
import { stitchInvocations } from './stitch.js';

export type ApplyOutcome = ApplyResult & { status: 'stored' | 'duplicate' };

/**
 * The one path every batch takes, whatever carried it: validate it whole (throws a
 * FaasprovError naming the first bad field, storing nothing), refuse what its agent may not
 * write (another node's facts, alerts), then apply it in one
 * transaction that dedupes by (agent, seq). Returns only after the commit.
 */
export async function applyBatch(store: GraphStore, body: unknown, metrics?: CollectorMetrics, rules?: RuleEngine): Promise<ApplyOutcome> {
  let batch;
  try {
    batch = parseBatch(body);
  } catch (err) {
    if (metrics) metrics.batches.invalid++;
    throw err;
  }
  // An agent writes only its own node's facts: a forged batch is refused whole.
  const forged = batchOriginError(batch);
  if (forged) {
    if (metrics) metrics.batches.forged++;
    throw forged;
  }
  // Asked together (three reads in flight, not one after another); the chain's answer is used
  // only for a batch not stored before.
  const [seen, chained] = await Promise.all([store.batchInfo(batch.agent, batch.seq), chainGap(store, batch)]);
  const gap = seen ? undefined : chained;
  if (gap) {
    batch.nodes.push(gap);
    if (metrics) metrics.chainBreaks++;
  }
  if (!seen) {
    await resolveVolumeReads(store, batch);
    const alerts = rules ? await rules.evaluate(batch, store) : 0;
    if (metrics) metrics.alerts += alerts;
    // After the rules: the links join invocations that may be in the store only.
    const stitched = await stitchInvocations(store, batch);
    if (metrics) metrics.stitched += stitched;
  }
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
