import Database from 'better-sqlite3';
import type { SerializedGraph } from '@faasprov/model';
import { toEdge, type StoredEdge } from './sqlite-codec.js';
import { toNode, type StoredNode } from './sqlite-attrs.js';

/**
 * Every node, edge and batch record of a SQLite store file, opened read-only (WAL lets a reader in
 * beside the collector that writes it): for tests and benchmarks that look at a live store. One read
 * transaction, so the three reads see one snapshot (no edge whose node came after the node read).
 */
export function readSqliteStore(file: string): SerializedGraph & { batches: { agent: string; seq: number }[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.transaction(() => ({
      nodes: (db.prepare('SELECT id, type, attrs FROM nodes ORDER BY rowid').all() as StoredNode[]).map(toNode),
      edges: (db.prepare('SELECT e.type, e.first_time, e.last_time, e.count, e.bytes, e.id, e.attrs, s.id AS src, d.id AS dst FROM edges e JOIN nodes s ON s.n = e.src JOIN nodes d ON d.n = e.dst').all() as StoredEdge[]).map(toEdge),
      batches: db.prepare('SELECT agent, seq FROM batches').all() as { agent: string; seq: number }[],
    }))();
  } finally {
    db.close();
  }
}
