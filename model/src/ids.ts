import { hash } from 'node:crypto';

/** Recent ids by natural key: the same file, process or endpoint comes back event after event. */
const recent = new Map<string, string>();
const RECENT_MAX = 50_000;

/** Deterministic id: a hash of the natural key, so every write is an idempotent upsert. */
export function hashId(prefix: string, parts: ReadonlyArray<string | number>): string {
  const key = `${prefix}\n${JSON.stringify(parts)}`;
  const hit = recent.get(key);
  if (hit !== undefined) return hit;
  const json = key.slice(prefix.length + 1);
  // One-shot hash(): no Hash object per id (about half the time of createHash for a short key).
  const id = `${prefix}_${hash('sha256', json, 'hex').slice(0, 32)}`;
  // Wholesale clear: simpler than an LRU, and a miss only costs one hash.
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(key, id);
  return id;
}
