import { RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { BATCH_STREAM } from '@faasprov/model';

/** Creates the batch stream, or brings its settings up to date; idempotent. */
export async function ensureStream(jsm: JetStreamManager, replicas: number = BATCH_STREAM.replicas): Promise<void> {
  const mutable = {
    subjects: [...BATCH_STREAM.subjects],
    max_age: nanos(BATCH_STREAM.maxAgeMs),
    duplicate_window: nanos(BATCH_STREAM.duplicateWindowMs),
    num_replicas: replicas,
  };
  try {
    await jsm.streams.info(BATCH_STREAM.name);
    await jsm.streams.update(BATCH_STREAM.name, mutable);
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add({
      name: BATCH_STREAM.name,
      retention: BATCH_STREAM.retention as RetentionPolicy,
      storage: BATCH_STREAM.storage as StorageType,
      ...mutable,
    });
  }
}
