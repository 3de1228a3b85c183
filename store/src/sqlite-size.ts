import Database from 'better-sqlite3';

/** What a SQLite store file holds: pages in use (bytes) in all, and per table and index. */
export interface StoreSize {
  bytes: number;
  byObject: Record<string, number>;
}

/**
 * Bytes a SQLite store keeps (pages in use times the page size, WAL included: a reader sees the
 * database as of its last commit), in all and per table and index (dbstat). Opened read-only, so
 * it can be asked while a collector writes the file.
 */
export function sqliteStoreSize(file: string): StoreSize {
  const db = new Database(file, { readonly: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as { name: string; bytes: number }[];
    return { bytes: (pages - free) * pageSize, byObject: Object.fromEntries(rows.map((r) => [r.name, r.bytes])) };
  } finally {
    db.close();
  }
}

/** after minus before, per table and index, for `per` invocations (bytes each). */
export function storeSizePer(before: StoreSize, after: StoreSize, per: number): { bytes: number; byObject: Record<string, number> } {
  const names = new Set([...Object.keys(before.byObject), ...Object.keys(after.byObject)]);
  const byObject: Record<string, number> = {};
  for (const n of names) {
    const d = ((after.byObject[n] ?? 0) - (before.byObject[n] ?? 0)) / per;
    if (d !== 0) byObject[n] = Math.round(d);
  }
  return { bytes: (after.bytes - before.bytes) / per, byObject };
}
