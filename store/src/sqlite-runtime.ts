import { createRequire } from 'node:module';
import Database from 'better-sqlite3';

/** The embedded store's native module, loaded and asked for its SQLite (faasprov doctor). Throws when it does not load. */
export function sqliteRuntime(): { betterSqlite3: string; sqlite: string } {
  const db = new Database(':memory:');
  try {
    const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    const pkg = createRequire(import.meta.url)('better-sqlite3/package.json') as { version: string };
    return { betterSqlite3: pkg.version, sqlite };
  } finally {
    db.close();
  }
}
