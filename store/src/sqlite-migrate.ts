import type Database from 'better-sqlite3';
import { EDGE_CODE, NODE_CODE, encodeEdgeId, encodeId } from './sqlite-codec.js';
import { splitAttrs } from './sqlite-attrs.js';

/**
 * Rewrites a store of an older schema in the current one (4), in one transaction: nothing
 * changes if any step fails. 1: ids and types as text, edges without attrs; 2: with edge attrs;
 * 3: ids and types encoded, node attributes all JSON. false: a version this code does not know
 * (newer, or foreign).
 */
export function migrate(db: Database.Database, from: string, schema: string, to: string): boolean {
  if (!['1', '2', '3'].includes(from)) return false;
  db.function('fp_id', { deterministic: true }, (id: unknown) => encodeId(String(id)));
  db.function('fp_eid', { deterministic: true }, (id: unknown) => encodeEdgeId(String(id)));
  db.function('fp_ntype', { deterministic: true }, (t: unknown) => NODE_CODE[t as keyof typeof NODE_CODE] ?? null);
  db.function('fp_etype', { deterministic: true }, (t: unknown) => EDGE_CODE[t as keyof typeof EDGE_CODE] ?? null);
  db.function('fp_json', { deterministic: true }, (a: unknown) => splitAttrs(JSON.parse(String(a)) as Record<string, unknown>).json);
  db.function('fp_more', { deterministic: true }, (a: unknown) => splitAttrs(JSON.parse(String(a)) as Record<string, unknown>).more);
  const text = from !== '3';
  const tables = text ? ['nodes', 'edges'] : ['nodes'];
  db.transaction(() => {
    if (from === '1') db.exec('ALTER TABLE edges ADD COLUMN attrs TEXT');
    // The old tables keep their indexes' names when renamed: those go first.
    const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`).all(...tables) as { name: string }[];
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);
    for (const t of tables) db.exec(`ALTER TABLE ${t} RENAME TO ${t}_old`);
    db.exec(schema);
    db.exec(`INSERT INTO nodes(id, type, attrs, more)
             SELECT ${text ? 'fp_id(id), fp_ntype(type)' : 'id, type'}, fp_json(attrs), fp_more(attrs) FROM nodes_old ORDER BY rowid`);
    if (text) {
      db.exec(`INSERT INTO edges(src, type, dst, first_time, last_time, count, bytes, id, attrs)
               SELECT fp_id(src), fp_etype(type), fp_id(dst), first_time, last_time, count, bytes, fp_eid(id), attrs FROM edges_old`);
    }
    for (const t of tables) db.exec(`DROP TABLE ${t}_old`);
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(to, 'schema');
  }).immediate();
  return true;
}
