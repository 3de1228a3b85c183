import Database from 'better-sqlite3';
import { NODE_TYPES, SEVERITIES, SHARED_TYPES, type Batch, type GraphEdge, type GraphNode, type NodeType, type SerializedGraph } from '@faasprov/model';
import type {
  AlertQuery, ApplyResult, BatchInfo, Direction, NodeQuery, ExpandOnly, ExpandStep, FrontierEntry, GraphStore, RemoteRead, RemoteReadQuery, StoreStats,
} from './graph-store.js';
import { StoreErrors } from './errors.js';
import { BulkWriter } from './sqlite-bulk.js';
import { mergeEdges, mergeNodes } from './batch-merge.js';
import { checkUnique } from './bulk-load.js';
import { EDGE_CODE, NODE_CODE, OTHER_IDS, decodeId, encodeEdgeId, encodeId, idHex, nodeTypeOf, toEdge, typeRange, type StoredEdge } from './sqlite-codec.js';
import { attrValue, encodeAttrs, patchAttrs, toNode, type StoredNode } from './sqlite-attrs.js';
import { migrate } from './sqlite-migrate.js';

const N = NODE_CODE;
const E = EDGE_CODE;
/** A type's code, for SQL text: only a known type (a caller's string is never spliced in). */
function codeOf<T extends string>(codes: Readonly<Record<T, number>>, t: string, what: 'edge' | 'node'): number {
  if (!Object.hasOwn(codes, t)) throw StoreErrors.FP_ERR_STORE_EXPAND_TYPE(what, JSON.stringify(t));
  return (codes as Record<string, number>)[t]!;
}
/**
 * Schema 6: ids as blobs and types as codes (sqlite-codec.ts); a node's attributes in a compact
 * blob that SQL reads through fp_attr (sqlite-attrs.ts). An edge names its endpoints by
 * their row numbers (n: 1-4 bytes where an id takes 18-21, in the table and in edges_dst); edges
 * are keyed by (src, type, dst) in a WITHOUT ROWID table, so the table itself is the index a
 * backward trace seeks (all of a node's outgoing edges side by side), and the edge's id, which
 * ingest checks is the hash of its type and endpoints' ids, is kept but not indexed.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
  n INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  type INTEGER NOT NULL,
  attrs BLOB
);
CREATE INDEX IF NOT EXISTS nodes_alert_time ON nodes(fp_attr(attrs, 'time')) WHERE type = ${N.Alert};
CREATE INDEX IF NOT EXISTS nodes_volume_file ON nodes(fp_attr(attrs, 'volume'), fp_attr(attrs, 'path'), fp_attr(attrs, 'version'))
  WHERE type = ${N.File};
CREATE TABLE IF NOT EXISTS edges (
  src INTEGER NOT NULL,
  type INTEGER NOT NULL,
  dst INTEGER NOT NULL,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  id BLOB NOT NULL,
  attrs TEXT,
  PRIMARY KEY (src, type, dst)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst, last_time);
CREATE TABLE IF NOT EXISTS batches (
  agent TEXT NOT NULL,
  seq INTEGER NOT NULL,
  received INTEGER NOT NULL,
  nodes INTEGER NOT NULL,
  edges INTEGER NOT NULL,
  hash TEXT,
  prev TEXT,
  PRIMARY KEY (agent, seq)
);
`;
const SCHEMA_VERSION = '6';
/** An edge row with its endpoints' ids (nodes s and d joined on their row numbers). */
const EDGE_COLUMNS = 'e.type, e.first_time, e.last_time, e.count, e.bytes, e.id, e.attrs, s.id AS src, d.id AS dst';
/** The attributes a text search looks in. */
const TEXT_FIELDS = ['path', 'address', 'exe', 'function', 'cause', 'callId', 'rule'];
/** Ids as a JSON array of their stored form in hex, for json_each. */
const idsJson = (list: readonly string[]) => JSON.stringify(list.map(idHex));

/** The embedded store: SQLite in WAL mode, zero setup. */
export class SqliteGraphStore implements GraphStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly bulk: BulkWriter;
  /** One transaction per batch: the dedupe check, every node, edge and alert, and the batch record. */
  private readonly applyTx;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file);
    } catch (err) {
      throw StoreErrors.FP_ERR_STORE_OPEN(file, (err as Error).message);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // 64 MiB of page cache: ingest touches index pages all over the file (ids are hashes).
    this.db.pragma('cache_size = -65536');
    // Checkpoint (and fsync) every ~40 MB of WAL rather than every 4 MB: each batch dirties pages
    // of four random-keyed indexes, and ingest measured ~1.7x faster (BENCHMARKS.md, ingest).
    this.db.pragma('wal_autocheckpoint = 10000');
    // What SQL (and the indexes on attributes) reads a node attribute with, and the upsert's merge.
    this.db.function('fp_attr', { deterministic: true }, (attrs: unknown, key: unknown) => attrValue(attrs as Buffer | null, String(key)));
    this.db.function('fp_patch', { deterministic: true }, (old: unknown, next: unknown) => patchAttrs(old as Buffer | null, next as Buffer | null));
    // An older store is rewritten in the current schema first (one transaction), else created.
    const v = this.db.prepare("SELECT name FROM sqlite_master WHERE name = 'meta'").get()
      ? (this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined)
      : undefined;
    if (v && v.value !== SCHEMA_VERSION) {
      if (!migrate(this.db, v.value, SCHEMA, SCHEMA_VERSION)) throw StoreErrors.FP_ERR_STORE_SCHEMA(file, v.value, SCHEMA_VERSION);
    }
    this.db.exec(SCHEMA);
    if (!v) this.db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    this.bulk = new BulkWriter(this.db);
    this.applyTx = this.db.transaction((b: Batch): ApplyResult => {
      if (this.stmts.seen.get(b.agent, b.seq)) return { applied: false, nodes: 0, edges: 0 };
      // Merged in memory first (one row per id, in id order), then multi-row upserts.
      this.bulk.writeNodes(mergeNodes(b.nodes));
      this.bulk.writeEdges(mergeEdges(b.edges));
      this.stmts.batch.run(b.agent, b.seq, Date.now(), b.nodes.length, b.edges.length, b.hash ?? null, b.prev ?? null);
      return { applied: true, nodes: b.nodes.length, edges: b.edges.length };
    });
    this.stmts = {
      seen: this.db.prepare('SELECT 1 FROM batches WHERE agent = ? AND seq = ?'),
      batch: this.db.prepare('INSERT INTO batches(agent, seq, received, nodes, edges, hash, prev) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      lastBatch: this.db.prepare('SELECT seq, hash, prev FROM batches WHERE agent = ? ORDER BY seq DESC LIMIT 1'),
      batchAt: this.db.prepare('SELECT seq, hash, prev FROM batches WHERE agent = ? AND seq = ?'),
      // Many ids (or [id, bound] pairs) in one statement, as a JSON array: one call per depth of a
      // trace, not one per node (a quarter less CPU per trace on the 1M-edge benchmark).
      getNodes: this.db.prepare('SELECT n.id, n.type, n.attrs FROM json_each(?) j JOIN nodes n ON n.id = unhex(j.value)'),
      out: this.expandStatement('backward', {}),
      in: this.expandStatement('forward', {}),
      edgesFrom: this.db.prepare(`SELECT ${EDGE_COLUMNS} FROM nodes s JOIN edges e ON e.src = s.n JOIN nodes d ON d.n = e.dst WHERE s.id = ?`),
      versionAt: this.db.prepare(
        `SELECT max(fp_attr(attrs, 'version')) AS v FROM nodes
         WHERE type = ${N.File} AND fp_attr(attrs, 'volume') = ? AND fp_attr(attrs, 'path') = ? AND fp_attr(attrs, 'version') <= ?`,
      ),
    };
  }

  async applyBatch(batch: Batch): Promise<ApplyResult> {
    return this.applyBatchSync(batch);
  }

  applyBatchSync(batch: Batch): ApplyResult {
    return this.applyTx.immediate(batch);
  }

  /**
   * Loads a whole graph into a store that holds no node yet (benchmarks, a replay into a fresh
   * file), in one transaction: the secondary indexes dropped, rows inserted in id order, the
   * indexes built again (one sort each instead of a random insert per row). Stored as applyBatch
   * stores it, without batch records. Ids must be unique (merge first).
   */
  async load(g: SerializedGraph): Promise<void> {
    checkUnique(this.file, g);
    const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM nodes LIMIT 1').get()) throw StoreErrors.FP_ERR_STORE_LOAD(this.file, 'it already holds nodes');
      const indexes = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('nodes', 'edges')").all() as { name: string }[];
      for (const { name } of indexes) this.db.exec(`DROP INDEX "${name}"`);
      const node = this.db.prepare('INSERT INTO nodes(id, type, attrs) VALUES (?, ?, ?)');
      const rowOf = new Map<string, number>();
      for (const { id, type, ...attrs } of [...g.nodes].sort(byId)) rowOf.set(id, Number(node.run(encodeId(id), NODE_CODE[type], encodeAttrs(attrs)).lastInsertRowid));
      // In key order: the table is the edges' primary key, which cannot be dropped.
      const edge = this.db.prepare('INSERT INTO edges(src, type, dst, first_time, last_time, count, bytes, id, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const row = (id: string, e: GraphEdge) => {
        const n = rowOf.get(id);
        if (n === undefined) throw StoreErrors.FP_ERR_STORE_LOAD(this.file, `edge ${e.id} joins ${id}, which is no node of the graph`);
        return n;
      };
      const keyed = g.edges.map((e) => ({ e, src: row(e.from, e), dst: row(e.to, e), type: EDGE_CODE[e.type] }));
      keyed.sort((a, b) => a.src - b.src || a.type - b.type || a.dst - b.dst);
      for (const { e, src, dst, type } of keyed) edge.run(src, type, dst, e.firstTime, e.lastTime, e.count, e.bytes, encodeEdgeId(e.id), e.attrs ? JSON.stringify(e.attrs) : null);
      // The schema's CREATE INDEX IF NOT EXISTS builds what was dropped.
      this.db.exec(SCHEMA);
    }).immediate();
  }

  async batchInfo(agent: string, seq?: number): Promise<BatchInfo | undefined> {
    const r = (seq === undefined ? this.stmts.lastBatch.get(agent) : this.stmts.batchAt.get(agent, seq)) as
      | { seq: number; hash: string | null; prev: string | null }
      | undefined;
    if (!r) return undefined;
    return { seq: r.seq, ...(r.hash ? { hash: r.hash } : {}), ...(r.prev ? { prev: r.prev } : {}) };
  }

  async getNodes(ids: readonly string[]): Promise<GraphNode[]> {
    return this.getNodesSync(ids);
  }

  /** In the order of ids; missing ids are left out. */
  private getNodesSync(ids: readonly string[]): GraphNode[] {
    if (ids.length === 0) return [];
    return (this.stmts.getNodes.all(idsJson(ids)) as StoredNode[]).map(toNode);
  }

  /**
   * One hop from each frontier entry (a JSON array of [id hex, bound]); with only, the edge's and
   * the neighbour's type codes are compared in the join (an instance's edges from invocations are
   * skipped in SQLite's loop, never decoded).
   */
  private expandStatement(direction: Direction, only: ExpandOnly): Database.Statement {
    const edge = only.edge === undefined ? '' : ` AND e.type = ${codeOf(EDGE_CODE, only.edge, 'edge')}`;
    if (direction === 'backward') {
      const nb = only.neighbor === undefined ? '' : ` AND d.type = ${codeOf(NODE_CODE, only.neighbor, 'node')}`;
      return this.db.prepare(
        `SELECT ${EDGE_COLUMNS}, j.key AS via FROM json_each(?) j JOIN nodes s ON s.id = unhex(j.value ->> '$[0]')
         JOIN edges e ON e.src = s.n AND e.first_time <= j.value ->> '$[1]'${edge} JOIN nodes d ON d.n = e.dst${nb}`,
      );
    }
    const nb = only.neighbor === undefined ? '' : ` AND s.type = ${codeOf(NODE_CODE, only.neighbor, 'node')}`;
    return this.db.prepare(
      `SELECT ${EDGE_COLUMNS}, j.key AS via FROM json_each(?) j JOIN nodes d ON d.id = unhex(j.value ->> '$[0]')
       JOIN edges e ON e.dst = d.n AND e.last_time >= j.value ->> '$[1]'${edge} JOIN nodes s ON s.n = e.src${nb}`,
    );
  }

  /** The filtered expansions asked so far, prepared once each. */
  private readonly filtered = new Map<string, Database.Statement>();

  private filteredExpand(direction: Direction, only: ExpandOnly): Database.Statement {
    const key = `${direction} ${only.edge ?? ''} ${only.neighbor ?? ''}`;
    let stmt = this.filtered.get(key);
    if (!stmt) this.filtered.set(key, (stmt = this.expandStatement(direction, only)));
    return stmt;
  }

  /** Per frontier entry in order, its edges in index order. */
  async expand(frontier: readonly FrontierEntry[], direction: Direction, only?: ExpandOnly): Promise<ExpandStep[]> {
    if (frontier.length === 0) return [];
    const backward = direction === 'backward';
    const stmt = only?.edge !== undefined || only?.neighbor !== undefined ? this.filteredExpand(direction, only) : backward ? this.stmts.out : this.stmts.in;
    const rows = stmt.all(JSON.stringify(frontier.map((f) => [idHex(f.id), f.bound]))) as (StoredEdge & { via: number })[];
    return rows.map((r) => {
      const edge = toEdge(r);
      return { via: frontier[r.via]!.id, edge, neighbor: backward ? edge.to : edge.from };
    });
  }

  async searchNodes(q: NodeQuery): Promise<GraphNode[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.type !== undefined) {
      const code = NODE_CODE[q.type as keyof typeof NODE_CODE];
      if (code === undefined) return [];
      // The id index is the type index (typeRange).
      where.push('(id >= ? AND id < ? OR id >= ?) AND type = ?');
      args.push(...typeRange(q.type as NodeType), OTHER_IDS, code);
    }
    if (q.text !== undefined) {
      where.push(`(${TEXT_FIELDS.map((f) => `instr(lower(coalesce(fp_attr(attrs, '${f}'), '')), lower(?)) > 0`).join(' OR ')})`);
      for (let i = 0; i < TEXT_FIELDS.length; i++) args.push(q.text);
    }
    if (q.function !== undefined) {
      where.push("fp_attr(attrs, 'function') = ?");
      args.push(q.function);
    }
    const time = "coalesce(fp_attr(attrs, 'start'), fp_attr(attrs, 'version'), fp_attr(attrs, 'from'), fp_attr(attrs, 'created'))";
    if (q.since !== undefined) {
      where.push(`${time} >= ?`);
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where.push(`${time} <= ?`);
      args.push(q.until);
    }
    if (q.tenants !== undefined) {
      const marks = q.tenants.map(() => '?').join(', ') || "''";
      where.push(`(fp_attr(attrs, 'tenant') IN (${marks}) OR (fp_attr(attrs, 'tenant') IS NULL AND fp_attr(attrs, 'tenantUnknown') IS NULL AND type IN (${SHARED_TYPES.map(() => '?').join(', ')})))`);
      args.push(...q.tenants, ...SHARED_TYPES.map((t) => NODE_CODE[t]));
    }
    const sql = `SELECT id, type, attrs FROM nodes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ? OFFSET ?`;
    return (this.db.prepare(sql).all(...args, q.limit, q.offset) as StoredNode[]).map(toNode);
  }

  async subgraph(ids: readonly string[]): Promise<SerializedGraph> {
    const set = new Set(ids);
    const nodes = this.getNodesSync([...set]);
    const edges: GraphEdge[] = [];
    for (const id of set) {
      for (const r of this.stmts.edgesFrom.all(encodeId(id)) as StoredEdge[]) {
        const e = toEdge(r);
        if (set.has(e.to)) edges.push(e);
      }
    }
    return { nodes, edges };
  }

  async all(): Promise<SerializedGraph> {
    const nodes = (this.db.prepare('SELECT id, type, attrs FROM nodes ORDER BY rowid').all() as StoredNode[]).map(toNode);
    const edges = (this.db.prepare(`SELECT ${EDGE_COLUMNS} FROM edges e JOIN nodes s ON s.n = e.src JOIN nodes d ON d.n = e.dst`).all() as StoredEdge[]).map(toEdge);
    return { nodes, edges };
  }

  async stats(): Promise<StoreStats> {
    const c = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    // Counted in the id index, type by type (typeRange), and apart for ids outside the model's pattern.
    const inRange = this.db.prepare('SELECT count(*) AS n FROM nodes WHERE id >= ? AND id < ?').pluck();
    const counts = new Map<NodeType, number>();
    for (const t of NODE_TYPES) {
      const n = inRange.get(...typeRange(t)) as number;
      if (n > 0) counts.set(t, n);
    }
    for (const r of this.db.prepare('SELECT type, count(*) AS n FROM nodes WHERE id >= ? GROUP BY type').all(OTHER_IDS) as { type: number; n: number }[]) {
      counts.set(nodeTypeOf(r.type), (counts.get(nodeTypeOf(r.type)) ?? 0) + r.n);
    }
    const byType = [...counts].map(([type, n]) => ({ type, n }));
    return {
      nodes: c('SELECT count(*) AS n FROM nodes'),
      edges: c('SELECT count(*) AS n FROM edges'),
      batches: c('SELECT count(*) AS n FROM batches'),
      nodesByType: Object.fromEntries(byType.map((r) => [r.type, r.n])),
    };
  }

  async fileVersionAt(volume: string, path: string, time: number): Promise<number | undefined> {
    const r = this.stmts.versionAt.get(volume, path, time) as { v: number | null } | undefined;
    return r?.v ?? undefined;
  }

  async alerts(q: AlertQuery): Promise<GraphNode[]> {
    const where: string[] = [`type = ${N.Alert}`];
    const args: unknown[] = [];
    if (q.since !== undefined) {
      where.push("fp_attr(attrs, 'time') >= ?");
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where.push("fp_attr(attrs, 'time') <= ?");
      args.push(q.until);
    }
    if (q.minSeverity) {
      const sev = SEVERITIES.slice(SEVERITIES.indexOf(q.minSeverity));
      where.push(`fp_attr(attrs, 'severity') IN (${sev.map(() => '?').join(', ')})`);
      args.push(...sev);
    }
    if (q.function !== undefined) {
      where.push("fp_attr(attrs, 'function') = ?");
      args.push(q.function);
    }
    if (q.tenants) {
      // An alert without a tenant (a capture gap) concerns everyone, like other shared entities; not
      // one whose subject's tenant could not be read (tenantUnknown).
      where.push(`((fp_attr(attrs, 'tenant') IS NULL AND fp_attr(attrs, 'tenantUnknown') IS NULL) OR fp_attr(attrs, 'tenant') IN (${q.tenants.map(() => '?').join(', ') || 'NULL'}))`);
      args.push(...q.tenants);
    }
    const rows = this.db
      .prepare(`SELECT id, type, attrs FROM nodes WHERE ${where.join(' AND ')} ORDER BY fp_attr(attrs, 'time') DESC, id LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as StoredNode[];
    return rows.map(toNode);
  }

  async remoteReads(q: RemoteReadQuery): Promise<RemoteRead[]> {
    const args: unknown[] = [];
    let where = '';
    if (q.since !== undefined) {
      where += ' AND u.last_time >= ?';
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where += ' AND u.first_time <= ?';
      args.push(q.until);
    }
    if (q.tenants) {
      where += ` AND fp_attr(r.attrs, 'tenant') IN (${q.tenants.map(() => '?').join(', ') || 'NULL'})`;
      args.push(...q.tenants);
    }
    const raw = this.db
      .prepare(
        `SELECT r.id AS reader, w.id AS producer, f.id AS file, u.first_time AS readAt, u.attrs AS attrs,
                fp_attr(w.attrs, 'node') AS producedOn, fp_attr(r.attrs, 'node') AS readOn,
                (SELECT i.id FROM edges p JOIN nodes i ON i.n = p.dst WHERE p.src = r.n AND p.type = ${E.PART_OF} LIMIT 1) AS invocation
         FROM nodes f
         JOIN edges g ON g.src = f.n AND g.type = ${E.WAS_GENERATED_BY}
         JOIN edges u ON u.dst = f.n AND u.type = ${E.USED}
         JOIN nodes w ON w.n = g.dst
         JOIN nodes r ON r.n = u.src
         WHERE (f.id >= ? AND f.id < ? OR f.id >= ?) AND f.type = ${N.File} AND fp_attr(f.attrs, 'volume') IS NOT NULL
           AND fp_attr(w.attrs, 'node') IS NOT fp_attr(r.attrs, 'node')
           AND u.last_time >= g.first_time${where}
         ORDER BY u.first_time, r.id LIMIT ?`,
      )
      .all(...typeRange('File'), OTHER_IDS, ...args, q.limit) as { reader: Buffer; producer: Buffer; file: Buffer; readAt: number; attrs: string | null; producedOn: string; readOn: string; invocation: Buffer | null }[];
    const rows = raw.map((r) => ({ ...r, reader: decodeId(r.reader), producer: decodeId(r.producer), file: decodeId(r.file), invocation: r.invocation ? decodeId(r.invocation) : null }));
    const nodes = new Map((await this.getNodes([...new Set(rows.flatMap((r) => [r.reader, r.producer, r.file, ...(r.invocation ? [r.invocation] : [])]))])).map((n) => [n.id, n]));
    return rows.map((r) => ({
      reader: nodes.get(r.reader)!,
      ...(r.invocation ? { invocation: nodes.get(r.invocation)! } : {}),
      file: nodes.get(r.file)!,
      producer: nodes.get(r.producer)!,
      producedOn: r.producedOn,
      readOn: r.readOn,
      readAt: r.readAt,
      readWhileWrite: r.attrs ? (JSON.parse(r.attrs) as { readWhileWrite?: boolean }).readWhileWrite === true : false,
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
