import { createHash } from 'node:crypto';

/** Deterministic id: a hash of the natural key, so every write is an idempotent upsert. */
export function hashId(prefix: string, parts: ReadonlyArray<string | number>): string {
  const h = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
  return `${prefix}_${h}`;
}
