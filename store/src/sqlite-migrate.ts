import type Database from 'better-sqlite3';
import { EDGE_CODE, NODE_CODE, encodeEdgeId, encodeId } from './sqlite-codec.js';
import { encodeAttrs, readAttrs } from './sqlite-attrs.js';

/**
 * Rewrites a store of an older schema in the current one (6), in one transaction: nothing
 * changes if any step fails. 1: ids and types as text, edges without attrs; 2: with edge attrs;
 * 3: ids and types encoded, node attributes JSON; 4: node attributes split between JSON and a
 * blob (`more`); 5: edges naming their endpoints by row number. false: a version this code does
 * not know (newer, or foreign).
 */
export function migrate(db: Database.Database, from: string, schema: string, to: string): boolean {
  if (!['1', '2', '3', '4', '5'].includes(from)) return false;
  const text = from === '1' || from === '2';
  db.function('fp_id', { deterministic: true }, (id: unknown) => (text ? encodeId(String(id)) : id));
  db.function('fp_eid', { deterministic: true }, (id: unknown) => (text ? encodeEdgeId(String(id)) : id));
  db.function('fp_ntype', { deterministic: true }, (t: unknown) => (text ? (NODE_CODE[t as keyof typeof NODE_CODE] ?? null) : t));
  db.function('fp_etype', { deterministic: true }, (t: unknown) => (text ? (EDGE_CODE[t as keyof typeof EDGE_CODE] ?? null) : t));
  db.function('fp_attrs', { deterministic: true }, (json: unknown, more: unknown) =>
    encodeAttrs(more ? readAttrs(more as Buffer, JSON.parse(String(json)) as Record<string, unknown>) : (JSON.parse(String(json)) as Record<string, unknown>)),
  );
  // Schema 5's edges already name nodes by row number, which the rewrite keeps.
  const tables = from === '5' ? ['nodes'] : ['nodes', 'edges'];
  db.transaction(() => {
    if (from === '1') db.exec('ALTER TABLE edges ADD COLUMN attrs TEXT');
    if (from === '1' || from === '2' || from === '3') db.exec('ALTER TABLE nodes ADD COLUMN more BLOB');
    // The old tables keep their indexes' names when renamed: those go first.
    const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`).all(...tables) as { name: string }[];
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);
    for (const t of tables) db.exec(`ALTER TABLE ${t} RENAME TO ${t}_old`);
    db.exec(schema);
    db.exec('INSERT INTO nodes(n, id, type, attrs) SELECT rowid, fp_id(id), fp_ntype(type), fp_attrs(attrs, more) FROM nodes_old ORDER BY rowid');
    if (from !== '5') {
      // An edge whose endpoint is no node (ingest never stores one) fails the NOT NULL: nothing changes.
      db.exec(`INSERT INTO edges(src, type, dst, first_time, last_time, count, bytes, id, attrs)
               SELECT (SELECT n FROM nodes WHERE id = fp_id(o.src)), fp_etype(o.type), (SELECT n FROM nodes WHERE id = fp_id(o.dst)),
                      o.first_time, o.last_time, o.count, o.bytes, fp_eid(o.id), o.attrs FROM edges_old o`);
    }
    for (const t of tables) db.exec(`DROP TABLE ${t}_old`);
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(to, 'schema');
  }).immediate();
  return true;
}
