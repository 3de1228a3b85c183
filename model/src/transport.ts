/**
 * The JetStream stream of batches (scale-out mode). Collectors own it (create or update it at
 * start); agents only publish to it, with message id agent:seq.
 */
export const BATCH_STREAM = {
  name: 'FAASPROV_BATCHES',
  subjects: ['faasprov.batches.>'],
  /** Work queue: a batch leaves the stream once a collector acknowledged it, after its commit. */
  retention: 'workqueue',
  storage: 'file',
  maxAgeMs: 7 * 24 * 3600 * 1000,
  /** Resends with the same agent:seq inside this window are dropped by JetStream itself. */
  duplicateWindowMs: 10 * 60 * 1000,
  replicas: 1,
} as const;

export function batchSubject(agent: string): string {
  return `faasprov.batches.${agent.replace(/[^A-Za-z0-9_:-]/g, '_')}`;
}

export function batchMessageId(agent: string, seq: number): string {
  return `${agent}:${seq}`;
}
