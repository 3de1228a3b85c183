import type Database from 'better-sqlite3';
import type { GraphEdge } from '@faasprov/model';
import type { NodeRow } from './batch-merge.js';
import { EDGE_CODE, NODE_CODE, encodeEdgeId, encodeId } from './sqlite-codec.js';
import { encodeAttrs } from './sqlite-attrs.js';
import { StoreErrors } from './errors.js';

const NODE_UPSERT = `INSERT INTO nodes(id, type, attrs) VALUES (?, ?, ?)
   ON CONFLICT(id) DO UPDATE SET attrs = CASE WHEN excluded.attrs IS NULL THEN nodes.attrs WHEN nodes.attrs IS NULL THEN excluded.attrs
                                              ELSE fp_patch(nodes.attrs, excluded.attrs) END
   RETURNING n`;

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
  private readonly rowOf: Database.Statement;
  /** Row numbers of the nodes the current batch wrote: its edges' endpoints, without a lookup. */
  private rows = new Map<string, number>();

  constructor(db: Database.Database) {
    this.node = db.prepare(NODE_UPSERT);
    this.edge = db.prepare(EDGE_UPSERT);
    this.rowOf = db.prepare('SELECT n FROM nodes WHERE id = ?').pluck();
  }

  writeNodes(rows: readonly NodeRow[]): void {
    this.rows = new Map();
    for (const r of rows) {
      const { n } = this.node.get(encodeId(r.id), NODE_CODE[r.type as keyof typeof NODE_CODE], encodeAttrs(r.attrs)) as { n: number };
      this.rows.set(r.id, n);
    }
  }

  /** After writeNodes of the same batch. An endpoint stored nowhere fails the batch's transaction. */
  writeEdges(rows: readonly GraphEdge[]): void {
    const row = (id: string, e: GraphEdge): number => {
      const n = this.rows.get(id) ?? (this.rowOf.get(encodeId(id)) as number | undefined);
      if (n === undefined) throw StoreErrors.FP_ERR_STORE_DANGLING(e.id, id);
      return n;
    };
    for (const e of rows) this.edge.run(row(e.from, e), EDGE_CODE[e.type], row(e.to, e), e.firstTime, e.lastTime, e.count, e.bytes, encodeEdgeId(e.id), e.attrs ? JSON.stringify(e.attrs) : null);
    this.rows = new Map();
  }
}
