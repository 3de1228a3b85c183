import type Database from 'better-sqlite3';
import { EDGE_CODE, NODE_CODE, encodeEdgeId, encodeId } from './sqlite-codec.js';

/**
 * Rewrites a store of an older schema (1: ids and types as text, edges without attrs; 2: with
 * edge attrs) in the current one, in one transaction: nothing changes if any step fails.
 * false: a version this code does not know (newer, or foreign).
 */
export function migrate(db: Database.Database, from: string, schema: string, to: string): boolean {
  if (from !== '1' && from !== '2') return false;
  db.function('fp_id', { deterministic: true }, (id: unknown) => encodeId(String(id)));
  db.function('fp_eid', { deterministic: true }, (id: unknown) => encodeEdgeId(String(id)));
  db.function('fp_ntype', { deterministic: true }, (t: unknown) => NODE_CODE[t as keyof typeof NODE_CODE] ?? null);
  db.function('fp_etype', { deterministic: true }, (t: unknown) => EDGE_CODE[t as keyof typeof EDGE_CODE] ?? null);
  db.transaction(() => {
    if (from === '1') db.exec('ALTER TABLE edges ADD COLUMN attrs TEXT');
    // The old tables keep their indexes' names when renamed: those go first.
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('nodes', 'edges')").all() as { name: string }[];
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);
    db.exec('ALTER TABLE nodes RENAME TO nodes_old; ALTER TABLE edges RENAME TO edges_old');
    db.exec(schema);
    db.exec('INSERT INTO nodes(id, type, attrs) SELECT fp_id(id), fp_ntype(type), attrs FROM nodes_old ORDER BY rowid');
    db.exec(`INSERT INTO edges(src, type, dst, first_time, last_time, count, bytes, id, attrs)
             SELECT fp_id(src), fp_etype(type), fp_id(dst), first_time, last_time, count, bytes, fp_eid(id), attrs FROM edges_old`);
    db.exec('DROP TABLE nodes_old; DROP TABLE edges_old');
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(to, 'schema');
  }).immediate();
  return true;
}
