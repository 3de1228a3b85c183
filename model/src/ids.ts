import { hash } from 'node:crypto';

/**
 * Recent ids by natural key: the same file, process or endpoint comes back event after event.
 * A trie of the key's parts (a Map per part, one root per prefix and part count) rather than one
 * string key: a hit then builds no string and hashes none (the parts are strings the caller
 * already holds, whose hashes V8 keeps), which made the agent's per-event id lookups cheap.
 * Map keys compare by SameValueZero: 1 and "1" stay apart, as their JSON does; -0 and 0 share a
 * key and a JSON text.
 */
type Level = Map<string | number, Level | string>;
const roots = new Map<string, Level[]>();
let cached = 0;
const RECENT_MAX = 50_000;

/** Strings JSON writes as they are, between quotes (no quote, backslash, control character or surrogate). */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** JSON.stringify(parts), without its generic walk for the common parts (plain strings, numbers). */
function keyJson(parts: ReadonlyArray<string | number>): string {
  let s = '[';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i > 0) s += ',';
    // A finite number's JSON is its String(); both write -0 as 0.
    if (typeof p === 'number' && Number.isFinite(p)) s += String(p);
    else if (typeof p === 'string' && PLAIN.test(p)) s += `"${p}"`;
    else return JSON.stringify(parts);
  }
  return `${s}]`;
}

/** The id of a natural key, not looked up nor kept: for keys asked for once (a unit's, an edge's that its holder remembers). */
export function hashIdOnce(prefix: string, parts: ReadonlyArray<string | number>): string {
  // One-shot hash(): no Hash object per id (about half the time of createHash for a short key).
  return `${prefix}_${hash('sha256', keyJson(parts), 'hex').slice(0, 32)}`;
}

/** Deterministic id: a hash of the natural key, so every write is an idempotent upsert. */
export function hashId(prefix: string, parts: ReadonlyArray<string | number>): string {
  let byCount = roots.get(prefix);
  if (byCount === undefined) roots.set(prefix, (byCount = []));
  let level = byCount[parts.length];
  if (level === undefined) byCount[parts.length] = level = new Map();
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) {
    const k = parts[i]!;
    let next = level.get(k) as Level | undefined;
    if (next === undefined) level.set(k, (next = new Map()));
    level = next;
  }
  const leaf = parts[last]!;
  const hit = level.get(leaf) as string | undefined;
  if (hit !== undefined) return hit;
  const id = hashIdOnce(prefix, parts);
  // Wholesale clear: simpler than an LRU, and a miss only costs one hash.
  if (cached >= RECENT_MAX) {
    roots.clear();
    cached = 0;
    return hashId(prefix, parts);
  }
  level.set(leaf, id);
  cached++;
  return id;
}
