import type Database from 'better-sqlite3';
import type { GraphEdge } from '@faasprov/model';
import type { NodeRow } from './batch-merge.js';
import { EDGE_CODE, NODE_CODE, encodeEdgeId, encodeId } from './sqlite-codec.js';
import { splitAttrs } from './sqlite-attrs.js';

const NODE_UPSERT = `INSERT INTO nodes(id, type, attrs, more) VALUES (?, ?, ?, ?)
   ON CONFLICT(id) DO UPDATE SET attrs = json_patch(nodes.attrs, excluded.attrs),
     more = CASE WHEN excluded.more IS NULL THEN nodes.more WHEN nodes.more IS NULL THEN excluded.more
                 ELSE fp_patch_more(nodes.more, excluded.more) END`;

const EDGE_UPSERT = `INSERT INTO edges(src, type, dst, first_time, last_time, count, bytes, id, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT(src, type, dst) DO UPDATE SET
     first_time = min(edges.first_time, excluded.first_time),
     last_time = max(edges.last_time, excluded.last_time),
     count = edges.count + excluded.count,
     bytes = edges.bytes + excluded.bytes,
     attrs = CASE WHEN excluded.attrs IS NULL THEN edges.attrs WHEN edges.attrs IS NULL THEN excluded.attrs
                  ELSE json_patch(edges.attrs, excluded.attrs) END`;

/**
 * Upserts through statements prepared once, run inside the caller's transaction. One row per
 * statement: multi-row VALUES upserts measured slower here (better-sqlite3 binding, SQLite's
 * co-routine for VALUES) than the same rows one by one.
 */
export class BulkWriter {
  private readonly node: Database.Statement;
  private readonly edge: Database.Statement;

  constructor(db: Database.Database) {
    this.node = db.prepare(NODE_UPSERT);
    this.edge = db.prepare(EDGE_UPSERT);
  }

  writeNodes(rows: readonly NodeRow[]): void {
    for (const r of rows) {
      const { json, more } = splitAttrs(r.attrs);
      this.node.run(encodeId(r.id), NODE_CODE[r.type as keyof typeof NODE_CODE], json, more);
    }
  }

  writeEdges(rows: readonly GraphEdge[]): void {
    for (const e of rows) this.edge.run(encodeId(e.from), EDGE_CODE[e.type], encodeId(e.to), e.firstTime, e.lastTime, e.count, e.bytes, encodeEdgeId(e.id), e.attrs ? JSON.stringify(e.attrs) : null);
  }
}
