import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import { EDGE_TYPES, EdgeAttrs, NODE_TYPES, SEVERITIES, SHARED_TYPES, type Batch, type GraphEdge, type GraphNode, type EdgeType, type NodeType, type SerializedGraph } from '@faasprov/model';
import { mergeEdges, mergeNodes } from './batch-merge.js';
import type { AlertQuery, RemoteRead, RemoteReadQuery } from './graph-store.js';
import type { ApplyResult, BatchInfo, Direction, NodeQuery, ExpandOnly, ExpandStep, FrontierEntry, GraphStore, StoreStats } from './graph-store.js';
import type { WalkRequest, WalkResult } from './graph-store.js';
import { StoreErrors } from './errors.js';
import { DEPTHS_PER_QUERY, EDGE_CORE, walkQuery } from './neo4j-trace.js';
import { checkUnique } from './bulk-load.js';

/** One operator of a Cypher plan (EXPLAIN), without the planner's estimates. */
export interface CypherPlanStep {
  operator: string;
  /** The database the operator runs on (operatorType's @suffix). */
  database: string | undefined;
  details: string;
  children: CypherPlanStep[];
}

export interface CypherExplain {
  /** r (read), rw, w (write) or s (schema or administration). */
  queryType: string;
  /** The database the session resolved to. */
  database: string | undefined;
  plan: CypherPlanStep | undefined;
}

export interface Neo4jStoreOptions {
  url: string;
  user: string;
  password: string;
  database?: string;
}

// Every Cypher statement takes its data as parameters; relationship types come from EDGE_TYPES.
const SCHEMA = [
  'CREATE CONSTRAINT faasprov_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE',
  'CREATE CONSTRAINT faasprov_batch_key IF NOT EXISTS FOR (b:Batch) REQUIRE b.key IS UNIQUE',
  'CREATE INDEX faasprov_batch_agent IF NOT EXISTS FOR (b:Batch) ON (b.agent, b.seq)',
  'CREATE INDEX faasprov_node_type IF NOT EXISTS FOR (n:Node) ON (n.type)',
  'CREATE INDEX faasprov_file_volume IF NOT EXISTS FOR (f:File) ON (f.volume, f.path)',
  'CREATE INDEX faasprov_alert_time IF NOT EXISTS FOR (a:Alert) ON (a.time)',
  // What investigators look up by hand (docs/cypher.md): each a seek, not a label scan.
  'CREATE INDEX faasprov_file_path IF NOT EXISTS FOR (f:File) ON (f.path)',
  'CREATE INDEX faasprov_file_node_path IF NOT EXISTS FOR (f:File) ON (f.node, f.path)',
  'CREATE INDEX faasprov_process_pid IF NOT EXISTS FOR (p:Process) ON (p.pid)',
  'CREATE INDEX faasprov_process_node_pid IF NOT EXISTS FOR (p:Process) ON (p.node, p.pid)',
  'CREATE INDEX faasprov_instance_function IF NOT EXISTS FOR (i:Instance) ON (i.function)',
  'CREATE INDEX faasprov_invocation_function IF NOT EXISTS FOR (v:Invocation) ON (v.function)',
  'CREATE INDEX faasprov_invocation_call IF NOT EXISTS FOR (v:Invocation) ON (v.callId)',
  'CREATE INDEX faasprov_endpoint_address IF NOT EXISTS FOR (e:Endpoint) ON (e.address, e.port)',
  'CREATE INDEX faasprov_gap_from IF NOT EXISTS FOR (g:Gap) ON (g.from)',
  ...EDGE_TYPES.map((t) => `CREATE CONSTRAINT faasprov_edge_${t.toLowerCase()} IF NOT EXISTS FOR ()-[r:${t}]-() REQUIRE r.id IS UNIQUE`),
];

/**
 * Times are µs integers (exact, what the stores compare); beside each, a Neo4j DATETIME named
 * NAMEAt for people querying by hand (datetime() misreads µs). Derived: stripped on read.
 */
const NODE_TIMES = ['start', 'end', 'version', 'deleted', 'from', 'to', 'created', 'opened', 'time', 'allocated', 'freed', 'processStart', 'credChanged', 'appStart', 'appEnd'] as const;
const DERIVED = new Set(NODE_TIMES.map((k) => `${k}At`));

/** µs since the epoch as a UTC Neo4j DATETIME, to the µs. */
export function neoDateTime(us: number): InstanceType<typeof neo4j.types.DateTime> {
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  return new neo4j.types.DateTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), (us % 1_000_000) * 1000, 0);
}

function nodeProps(n: GraphNode): Record<string, unknown> {
  const o = props(n as unknown as Record<string, unknown>);
  const r = n as unknown as Record<string, unknown>;
  // 0 means "before capture" (a File's version, a GpuBuffer's allocation): no date.
  for (const k of NODE_TIMES) if (typeof r[k] === 'number' && (r[k] as number) > 0) o[`${k}At`] = neoDateTime(r[k] as number);
  return o;
}

/**
 * The upsert of one relationship type's rows (the type from EDGE_TYPES, never input). Each row is
 * a list, [id, from, to, firstTime, lastTime, count, bytes, firstAt, lastAt, attrs], not a
 * map: the driver packs every value through closures and its temporal transformer, and a map's ten
 * keys with each row cost more than its values. The DATETIMEs come from the client (computed once
 * per row, not by datetime() on the server) and change only with the time they mirror.
 */
const edgeUpsert = (t: EdgeType) => `UNWIND $rows AS e
  MATCH (a:Node {id: e[1]})
  MATCH (c:Node {id: e[2]})
  MERGE (a)-[r:${t} {id: e[0]}]->(c)
  ON CREATE SET r.firstTime = e[3], r.lastTime = e[4], r.count = e[5], r.bytes = e[6],
                r.firstAt = e[7], r.lastAt = e[8]
  ON MATCH SET r.firstAt = CASE WHEN e[3] < r.firstTime THEN e[7] ELSE r.firstAt END,
               r.lastAt = CASE WHEN e[4] > r.lastTime THEN e[8] ELSE r.lastAt END,
               r.firstTime = CASE WHEN e[3] < r.firstTime THEN e[3] ELSE r.firstTime END,
               r.lastTime = CASE WHEN e[4] > r.lastTime THEN e[4] ELSE r.lastTime END,
               r.count = r.count + e[5],
               r.bytes = r.bytes + e[6]
  SET r += e[9]`;

/**
 * The upsert of one node type's rows, each [id, props]; the label written in the query (from
 * NODE_TYPES): a dynamic label ($(n.type)) costs an Eager and a label write per row.
 */
const nodeUpsert = (t: NodeType) => `UNWIND $rows AS n
  MERGE (x:Node {id: n[0]})
  SET x += n[1], x:${t}`;

/**
 * The batch's key, claimed first: a concurrent collector applying the same batch waits on the
 * unique constraint, then fails or finds it taken, so nothing is counted twice.
 */
const CLAIM = `MERGE (b:Batch {key: $key})
  ON CREATE SET b.agent = $agent, b.seq = $seq, b.hash = $hash, b.prev = $prev, b.received = $now, b.receivedAt = datetime(), b.fresh = true
  ON MATCH SET b.fresh = false
  RETURN b.fresh AS fresh`;

/** Integers go to Neo4j as Neo4j integers (64-bit), never as floats. */
function toNeo(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return neo4j.int(v);
  if (Array.isArray(v)) return v.map(toNeo);
  return v;
}

function props(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = toNeo(v);
  return out;
}

function toNode(p: Record<string, unknown>): GraphNode {
  for (const k of DERIVED) delete p[k];
  return p as unknown as GraphNode;
}

/** Every attribute an edge may carry, from the model's schema. */
const EDGE_ATTRS = Object.keys(EdgeAttrs.properties) as (keyof NonNullable<GraphEdge['attrs']>)[];

function toEdge(type: string, from: string, to: string, r: Record<string, unknown>): GraphEdge {
  const e: GraphEdge = {
    id: r.id as string,
    type: type as GraphEdge['type'],
    from,
    to,
    firstTime: r.firstTime as number,
    lastTime: r.lastTime as number,
    count: r.count as number,
    bytes: r.bytes as number,
  };
  for (const k of EDGE_ATTRS) {
    const v = r[k];
    if (v !== undefined && v !== null) (e.attrs ??= {} as NonNullable<GraphEdge['attrs']>)[k] = v as never;
  }
  return e;
}

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: string })?.code === code;
}

/** Another session made the same constraint or index first: what we wanted exists. */
const SCHEMA_EXISTS = ['Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists', 'Neo.ClientError.Schema.ConstraintAlreadyExists', 'Neo.ClientError.Schema.IndexAlreadyExists', 'Neo.ClientError.Schema.IndexWithNameAlreadyExists', 'Neo.ClientError.Schema.ConstraintWithNameAlreadyExists'];

/**
 * Creates constraints and indexes. Collectors starting together on a fresh database race for the
 * schema lock: a deadlock (or any transient error) is retried with backoff, and a rule another
 * collector created meanwhile counts as done. Then waits until every index is online, so that
 * queries plan on them.
 */
async function createSchema(driver: Driver, database: string | undefined): Promise<void> {
  const session = driver.session({ database });
  try {
    for (const q of SCHEMA) {
      for (let attempt = 0; ; attempt++) {
        try {
          await session.run(q);
          break;
        } catch (err) {
          const code = (err as { code?: string }).code ?? '';
          if (SCHEMA_EXISTS.includes(code)) break;
          if (!code.startsWith('Neo.TransientError.') || attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2000) * (0.5 + Math.random())));
        }
      }
    }
    await session.run('CALL db.awaitIndexes(300)');
  } finally {
    await session.close();
  }
}

/** The global provenance graph in Neo4j, over Bolt. Same semantics as the embedded store. */
export class Neo4jGraphStore implements GraphStore {
  private constructor(private readonly driver: Driver, private readonly database: string | undefined) {}

  /** Connects, checks the credentials, and creates constraints and indexes. One clear error if not. */
  static async open(o: Neo4jStoreOptions): Promise<Neo4jGraphStore> {
    const driver = neo4j.driver(o.url, neo4j.auth.basic(o.user, o.password), {
      disableLosslessIntegers: true,
      connectionTimeout: 10000,
      maxTransactionRetryTime: 30000,
    });
    try {
      await driver.verifyAuthentication?.();
      await driver.verifyConnectivity({ database: o.database });
    } catch (err) {
      await driver.close();
      const e = err as { code?: string; message?: string };
      if (isCode(err, 'Neo.ClientError.Security.Unauthorized') || isCode(err, 'Neo.ClientError.Security.AuthenticationRateLimit')) {
        throw StoreErrors.FP_ERR_NEO4J_AUTH(o.url, o.user);
      }
      throw StoreErrors.FP_ERR_NEO4J_UNREACHABLE(o.url, e.message?.split('\n')[0] ?? String(err));
    }
    const s = new Neo4jGraphStore(driver, o.database);
    try {
      await createSchema(driver, o.database);
    } catch (err) {
      await driver.close();
      throw err;
    }
    return s;
  }

  private session(mode: 'READ' | 'WRITE' = 'WRITE') {
    return this.driver.session({ database: this.database, defaultAccessMode: mode === 'READ' ? neo4j.session.READ : neo4j.session.WRITE });
  }

  private async read<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const s = this.session('READ');
    try {
      // No read runs without bound.
      return await s.executeRead(work, { timeout: 30000 });
    } finally {
      await s.close();
    }
  }

  async applyBatch(b: Batch): Promise<ApplyResult> {
    // Merged in memory first, then one UNWIND per label and one per relationship type, rows in
    // id order (nodes) and (from, to) order (edges), so that concurrent collectors take the locks
    // of shared nodes in one order.
    const writes: { query: string; rows: unknown[][] }[] = [];
    const byLabel = new Map<NodeType, unknown[][]>();
    for (const n of mergeNodes(b.nodes)) {
      const type = n.type as NodeType;
      if (!NODE_TYPES.includes(type)) throw new Error(`unknown node type ${type}`);
      const rows = byLabel.get(type) ?? byLabel.set(type, []).get(type)!;
      rows.push([n.id, nodeProps({ ...n.attrs, id: n.id, type } as GraphNode)]);
    }
    for (const [type, rows] of byLabel) writes.push({ query: nodeUpsert(type), rows });
    const byType = new Map<EdgeType, unknown[][]>();
    const edges = mergeEdges(b.edges).sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : x.to < y.to ? -1 : x.to > y.to ? 1 : 0));
    for (const e of edges) {
      if (!EDGE_TYPES.includes(e.type)) throw new Error(`unknown edge type ${e.type}`);
      const rows = byType.get(e.type) ?? byType.set(e.type, []).get(e.type)!;
      rows.push([
        e.id,
        e.from,
        e.to,
        neo4j.int(e.firstTime),
        neo4j.int(e.lastTime),
        neo4j.int(e.count),
        neo4j.int(e.bytes),
        neoDateTime(e.firstTime),
        neoDateTime(e.lastTime),
        props((e.attrs ?? {}) as Record<string, unknown>),
      ]);
    }
    for (const [type, rows] of byType) writes.push({ query: edgeUpsert(type), rows });
    const claim = { key: `${b.agent}#${b.seq}`, agent: b.agent, seq: neo4j.int(b.seq), hash: b.hash ?? null, prev: b.prev ?? null, now: neo4j.int(Date.now() * 1000) };
    const s = this.session();
    try {
      return await s.executeWrite(async (tx) => {
        if (!(await tx.run(CLAIM, claim)).records[0]?.get('fresh')) return { applied: false, nodes: 0, edges: 0 };
        // Sent together (pipelined on the connection, run in order by the server): one round trip.
        await Promise.all(writes.map((w) => tx.run(w.query, { rows: w.rows })));
        return { applied: true, nodes: b.nodes.length, edges: b.edges.length };
      });
    } catch (err) {
      if (isCode(err, 'Neo.ClientError.Schema.ConstraintValidationFailed')) return { applied: false, nodes: 0, edges: 0 };
      throw err;
    } finally {
      await s.close();
    }
  }

  async batchInfo(agent: string, seq?: number): Promise<BatchInfo | undefined> {
    const r = await this.read((tx) =>
      seq === undefined
        ? tx.run('MATCH (b:Batch {agent: $agent}) RETURN b.seq AS seq, b.hash AS hash, b.prev AS prev ORDER BY b.seq DESC LIMIT 1', { agent })
        : tx.run('MATCH (b:Batch {key: $key}) RETURN b.seq AS seq, b.hash AS hash, b.prev AS prev', { key: `${agent}#${seq}` }),
    );
    const rec = r.records[0];
    if (!rec) return undefined;
    const hash = rec.get('hash') as string | null;
    const prev = rec.get('prev') as string | null;
    return { seq: rec.get('seq') as number, ...(hash ? { hash } : {}), ...(prev ? { prev } : {}) };
  }

  async getNodes(ids: readonly string[]): Promise<GraphNode[]> {
    if (ids.length === 0) return [];
    const r = await this.read((tx) => tx.run('UNWIND $ids AS id MATCH (n:Node {id: id}) RETURN properties(n) AS p', { ids: [...ids] }));
    return r.records.map((rec) => toNode(rec.get('p') as Record<string, unknown>));
  }

  async expand(frontier: readonly FrontierEntry[], direction: Direction, only?: ExpandOnly): Promise<ExpandStep[]> {
    if (frontier.length === 0) return [];
    // The relationship type goes in the pattern (Neo4j follows only those): one of EDGE_TYPES only.
    if (only?.edge !== undefined && !EDGE_TYPES.includes(only.edge)) throw StoreErrors.FP_ERR_STORE_EXPAND_TYPE('edge', JSON.stringify(only.edge));
    if (only?.neighbor !== undefined && !NODE_TYPES.includes(only.neighbor)) throw StoreErrors.FP_ERR_STORE_EXPAND_TYPE('node', JSON.stringify(only.neighbor));
    const rel = only?.edge === undefined ? 'r' : `r:${only.edge}`;
    const nb = only?.neighbor === undefined ? '' : ' AND b.type = $neighbor';
    const q =
      direction === 'backward'
        ? `UNWIND $frontier AS f
           MATCH (a:Node {id: f.id})-[${rel}]->(b:Node)
           WHERE r.firstTime <= f.bound${nb}
           RETURN f.id AS via, type(r) AS type, a.id AS src, b.id AS dst, properties(r) AS r, b.id AS neighbor`
        : `UNWIND $frontier AS f
           MATCH (b:Node)-[${rel}]->(a:Node {id: f.id})
           WHERE r.lastTime >= f.bound${nb}
           RETURN f.id AS via, type(r) AS type, b.id AS src, a.id AS dst, properties(r) AS r, b.id AS neighbor`;
    const r = await this.read((tx) => tx.run(q, { frontier: frontier.map((f) => ({ id: f.id, bound: neo4j.int(f.bound) })), neighbor: only?.neighbor ?? null }));
    return r.records.map((rec) => ({
      via: rec.get('via') as string,
      neighbor: rec.get('neighbor') as string,
      edge: toEdge(rec.get('type') as string, rec.get('src') as string, rec.get('dst') as string, rec.get('r') as Record<string, unknown>),
    }));
  }

  /** A whole trace in one read transaction: one query per DEPTHS_PER_QUERY depths (neo4j-trace.ts). */
  async walk(req: WalkRequest): Promise<WalkResult | undefined> {
    const base = {
      since: neo4j.int(req.since),
      until: neo4j.int(req.until),
      maxNodes: neo4j.int(req.maxNodes),
      all: req.tenants === undefined,
      tenants: [...(req.tenants ?? [])],
      shared: [...SHARED_TYPES],
      nodeOmit: ['id', ...DERIVED],
      edgeCore: EDGE_CORE,
    };
    return this.read(async (tx) => {
      const nodes = new Map<string, { node: GraphNode; full: boolean }>();
      const bounds = new Map<string, number>();
      const steps = new Map<string, { edge: GraphEdge; across: boolean }>();
      let front = new Set<string>();
      let truncated = false;
      for (let done = 0, first = true; first || (front.size > 0 && !truncated && done < req.maxDepth); first = false) {
        const depths = Math.min(DEPTHS_PER_QUERY, req.maxDepth - done);
        const params = first
          ? { ...base, start: req.start, bound: neo4j.int(req.direction === 'backward' ? req.until : req.since) }
          : { ...base, best: [...bounds].map(([id, b]) => ({ id, b: neo4j.int(b), f: front.has(id) })) };
        const records = (await tx.run(walkQuery(req.direction, depths, first), params)).records;
        // No record at all: the start node is not in the store.
        if (records.length === 0) return undefined;
        front = new Set<string>();
        for (const rec of records) {
          const kind = rec.get('kind') as number;
          const items = rec.get('items') as unknown[];
          if (kind === 0) {
            for (const [id, bound, full, pairs] of items as [string, number, boolean, [string, unknown][] | null][]) {
              bounds.set(id, bound);
              if (pairs) nodes.set(id, { node: toNode({ id, ...Object.fromEntries(pairs) }), full });
            }
          } else if (kind === 1) {
            for (const [type, from, to, across, id, firstTime, lastTime, count, bytes, pairs] of items as [string, string, string, boolean, string, number, number, number, number, [string, unknown][]][]) {
              const edge = toEdge(type, from, to, { ...Object.fromEntries(pairs), id, firstTime, lastTime, count, bytes });
              steps.set(`${across ? 'x' : 'a'}${id}`, { edge, across });
            }
          } else if (kind === 2) {
            for (const [id] of items as [string, number][]) front.add(id);
          } else {
            truncated = items[0] as boolean;
          }
        }
        done += depths;
      }
      // Stopped by the depth limit with nodes still to expand.
      if (front.size > 0) truncated = true;
      return { nodes: [...nodes.values()], steps: [...steps.values()], truncated };
    });
  }

  async searchNodes(q: NodeQuery): Promise<GraphNode[]> {
    const r = await this.read((tx) =>
      tx.run(
        `MATCH (n:Node)
         WHERE ($type IS NULL OR n.type = $type)
           AND ($text IS NULL OR any(k IN $fields WHERE toLower(coalesce(toString(n[k]), '')) CONTAINS toLower($text)))
           AND ($function IS NULL OR n.function = $function)
           AND ($since IS NULL OR coalesce(n.start, n.version, n.from, n.created) >= $since)
           AND ($until IS NULL OR coalesce(n.start, n.version, n.from, n.created) <= $until)
           AND ($tenants IS NULL OR n.tenant IN $tenants OR (n.tenant IS NULL AND n.tenantUnknown IS NULL AND n.type IN $shared))
         RETURN properties(n) AS p ORDER BY n.id SKIP $offset LIMIT $limit`,
        {
          type: q.type ?? null,
          text: q.text ?? null,
          fields: ['path', 'address', 'exe', 'function', 'cause', 'callId', 'rule'],
          function: q.function ?? null,
          since: q.since === undefined ? null : neo4j.int(q.since),
          until: q.until === undefined ? null : neo4j.int(q.until),
          offset: neo4j.int(q.offset),
          limit: neo4j.int(q.limit),
          tenants: q.tenants ?? null,
          shared: [...SHARED_TYPES],
        },
      ),
    );
    return r.records.map((rec) => toNode(rec.get('p') as Record<string, unknown>));
  }

  async subgraph(ids: readonly string[]): Promise<SerializedGraph> {
    const nodes = await this.getNodes(ids);
    const r = await this.read((tx) =>
      tx.run(
        `MATCH (a:Node)-[r]->(b:Node) WHERE a.id IN $ids AND b.id IN $ids
         RETURN type(r) AS type, a.id AS src, b.id AS dst, properties(r) AS r`,
        { ids: [...ids] },
      ),
    );
    return { nodes, edges: r.records.map((rec) => toEdge(rec.get('type'), rec.get('src'), rec.get('dst'), rec.get('r'))) };
  }

  async all(): Promise<SerializedGraph> {
    const n = await this.read((tx) => tx.run('MATCH (n:Node) RETURN properties(n) AS p'));
    const e = await this.read((tx) => tx.run('MATCH (a:Node)-[r]->(b:Node) RETURN type(r) AS type, a.id AS src, b.id AS dst, properties(r) AS r'));
    return {
      nodes: n.records.map((rec) => toNode(rec.get('p'))),
      edges: e.records.map((rec) => toEdge(rec.get('type'), rec.get('src'), rec.get('dst'), rec.get('r'))),
    };
  }

  async stats(): Promise<StoreStats> {
    const r = await this.read(async (tx) => {
      const byType = await tx.run('MATCH (n:Node) RETURN n.type AS type, count(*) AS n');
      const edges = await tx.run('MATCH (:Node)-[r]->(:Node) RETURN count(r) AS n');
      const batches = await tx.run('MATCH (b:Batch) RETURN count(b) AS n');
      return { byType, edges, batches };
    });
    const nodesByType = Object.fromEntries(r.byType.records.map((rec) => [rec.get('type') as string, rec.get('n') as number]));
    return {
      nodes: Object.values(nodesByType).reduce((a, b) => a + b, 0),
      edges: r.edges.records[0]?.get('n') as number,
      batches: r.batches.records[0]?.get('n') as number,
      nodesByType,
    };
  }

  /**
   * The plan Neo4j would run for a query (EXPLAIN: nothing is executed), for a policy to check
   * before the query runs: its type (r, rw, w, s) and every operator with the database it runs on.
   */
  async explainCypher(query: string, params: Record<string, unknown> = {}): Promise<CypherExplain> {
    const s = this.session('READ');
    try {
      const r = await s.run(`EXPLAIN ${query}`, params, { timeout: 10000 });
      const walk = (p: { operatorType: string; arguments?: Record<string, unknown>; children?: unknown[] }): CypherPlanStep => {
        const at = p.operatorType.lastIndexOf('@');
        return {
          operator: at > 0 ? p.operatorType.slice(0, at) : p.operatorType,
          database: at > 0 ? p.operatorType.slice(at + 1) : undefined,
          details: String(p.arguments?.Details ?? ''),
          children: (p.children ?? []).map((c) => walk(c as Parameters<typeof walk>[0])),
        };
      };
      const plan = r.summary.plan;
      return { queryType: r.summary.queryType, database: r.summary.database.name ?? undefined, plan: plan ? walk(plan as Parameters<typeof walk>[0]) : undefined };
    } finally {
      await s.close();
    }
  }

  /**
   * Read-only Cypher for power users: one auto-commit READ transaction (no retries), with a
   * server-side timeout (and a client-side deadline shortly after it, which closes the session),
   * reading at most maxRows rows and maxBytes of JSON.
   */
  async readCypher(
    query: string,
    params: Record<string, unknown> = {},
    o: { timeoutMs?: number; maxRows?: number; maxBytes?: number } = {},
  ): Promise<Record<string, unknown>[] & { truncated?: 'rows' | 'bytes' }> {
    const maxRows = o.maxRows ?? Number.MAX_SAFE_INTEGER;
    const maxBytes = o.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const timeout = o.timeoutMs ?? 30000;
    // Small pulls: a huge row stops the read before many more arrive.
    const s = this.driver.session({ database: this.database, defaultAccessMode: neo4j.session.READ, fetchSize: 10 });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('the transaction has been terminated (client deadline)'), { code: 'Neo.ClientError.Transaction.TransactionTimedOut' })), timeout + 2000);
    });
    const read = async () => {
      const rows: Record<string, unknown>[] & { truncated?: 'rows' | 'bytes' } = [];
      let bytes = 0;
      for await (const rec of s.run(query, params, { timeout })) {
        if (rows.length >= maxRows) {
          rows.truncated = 'rows';
          break;
        }
        const row = rec.toObject() as Record<string, unknown>;
        bytes += JSON.stringify(row).length;
        if (bytes > maxBytes) {
          rows.truncated = 'bytes';
          break;
        }
        rows.push(row);
      }
      return rows;
    };
    try {
      const reading = read();
      reading.catch(() => undefined); // after the deadline, closing the session ends it with an error nobody awaits
      return await Promise.race([reading, deadline]);
    } finally {
      clearTimeout(timer);
      await s.close();
    }
  }

  /** Deletes every faasprov node, edge and batch record (tests and benchmarks start from empty). */
  async clear(): Promise<void> {
    const s = this.session();
    try {
      // In slices, relationships first, so that neither a large graph nor a node with a
      // million edges needs one transaction bigger than the server's memory limit.
      for (const q of [
        'MATCH (n)-[r]->() WHERE n:Node OR n:Batch WITH r LIMIT 20000 DELETE r RETURN count(*) AS n',
        'MATCH (n) WHERE n:Node OR n:Batch WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS n',
      ]) {
        for (;;) {
          const r = await s.run(q);
          if (Number(r.records[0]?.get('n') ?? 0) === 0) break;
        }
      }
    } finally {
      await s.close();
    }
  }

  /**
   * Loads a whole graph into a store that holds no node yet (benchmarks, a replay into a fresh
   * database): CREATE, not MERGE, one UNWIND of rowsPerQuery rows per label and relationship type,
   * each its own transaction; stored as applyBatch stores it (DATETIMEs included), without batch
   * records. Ids must be unique (merge first).
   */
  async load(g: SerializedGraph, rowsPerQuery = 20000): Promise<void> {
    checkUnique('Neo4j', g);
    const s = this.session();
    try {
      if ((await s.run('MATCH (n:Node) RETURN n.id LIMIT 1')).records.length > 0) throw StoreErrors.FP_ERR_STORE_LOAD('Neo4j', 'it already holds nodes');
      const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / rowsPerQuery) }, (_, i) => xs.slice(i * rowsPerQuery, (i + 1) * rowsPerQuery));
      // Labels and relationship types are written into the queries: only the model's own.
      for (const type of NODE_TYPES) {
        const rows = g.nodes.filter((n) => n.type === type).map(nodeProps);
        for (const c of chunks(rows)) await s.executeWrite((tx) => tx.run(`UNWIND $rows AS p CREATE (x:Node:${type}) SET x = p`, { rows: c }));
      }
      for (const type of EDGE_TYPES) {
        const rows = g.edges.filter((e) => e.type === type).map((e) => ({
          from: e.from,
          to: e.to,
          p: {
            ...props({ id: e.id, firstTime: e.firstTime, lastTime: e.lastTime, count: e.count, bytes: e.bytes }),
            ...props((e.attrs ?? {}) as Record<string, unknown>),
            firstAt: neoDateTime(e.firstTime),
            lastAt: neoDateTime(e.lastTime),
          },
        }));
        for (const c of chunks(rows)) {
          await s.executeWrite((tx) => tx.run(`UNWIND $rows AS e MATCH (a:Node {id: e.from}) MATCH (c:Node {id: e.to}) CREATE (a)-[r:${type}]->(c) SET r = e.p`, { rows: c }));
        }
      }
    } finally {
      await s.close();
    }
  }

  async fileVersionAt(volume: string, path: string, time: number): Promise<number | undefined> {
    const r = await this.read((tx) =>
      tx.run('MATCH (f:File {volume: $volume, path: $path}) WHERE f.version <= $time RETURN max(f.version) AS v', { volume, path, time: neo4j.int(time) }),
    );
    const v = r.records[0]?.get('v') as number | null | undefined;
    return v ?? undefined;
  }

  async alerts(q: AlertQuery): Promise<GraphNode[]> {
    const r = await this.read((tx) =>
      tx.run(
        `MATCH (a:Alert)
         WHERE ($since IS NULL OR a.time >= $since) AND ($until IS NULL OR a.time <= $until)
           AND ($severities IS NULL OR a.severity IN $severities) AND ($function IS NULL OR a.function = $function)
           AND ($tenants IS NULL OR (a.tenant IS NULL AND a.tenantUnknown IS NULL) OR a.tenant IN $tenants)
         RETURN properties(a) AS p ORDER BY a.time DESC, a.id SKIP $offset LIMIT $limit`,
        {
          since: q.since === undefined ? null : neo4j.int(q.since),
          until: q.until === undefined ? null : neo4j.int(q.until),
          severities: q.minSeverity ? SEVERITIES.slice(SEVERITIES.indexOf(q.minSeverity)) : null,
          function: q.function ?? null,
          tenants: q.tenants ?? null,
          offset: neo4j.int(q.offset),
          limit: neo4j.int(q.limit),
        },
      ),
    );
    return r.records.map((rec) => toNode(rec.get('p') as Record<string, unknown>));
  }

  async remoteReads(q: RemoteReadQuery): Promise<RemoteRead[]> {
    const r = await this.read((tx) =>
      tx.run(
        `MATCH (reader:Node)-[u:USED]->(f:File)-[g:WAS_GENERATED_BY]->(w:Node)
         WHERE f.volume IS NOT NULL AND reader.node <> w.node AND u.lastTime >= g.firstTime
           AND ($since IS NULL OR u.lastTime >= $since) AND ($until IS NULL OR u.firstTime <= $until)
           AND ($tenants IS NULL OR reader.tenant IN $tenants)
         OPTIONAL MATCH (reader)-[:PART_OF]->(i:Invocation)
         RETURN properties(reader) AS reader, properties(w) AS producer, properties(f) AS file, properties(i) AS invocation,
                u.firstTime AS readAt, coalesce(u.readWhileWrite, false) AS rww
         ORDER BY u.firstTime, reader.id LIMIT $limit`,
        {
          since: q.since === undefined ? null : neo4j.int(q.since),
          until: q.until === undefined ? null : neo4j.int(q.until),
          tenants: q.tenants ?? null,
          limit: neo4j.int(q.limit),
        },
      ),
    );
    return r.records.map((rec) => {
      const reader = toNode(rec.get('reader') as Record<string, unknown>);
      const producer = toNode(rec.get('producer') as Record<string, unknown>);
      const inv = rec.get('invocation') as Record<string, unknown> | null;
      return {
        reader,
        ...(inv ? { invocation: toNode(inv) } : {}),
        file: toNode(rec.get('file') as Record<string, unknown>),
        producer,
        producedOn: (producer as { node?: string }).node ?? '',
        readOn: (reader as { node?: string }).node ?? '',
        readAt: rec.get('readAt') as number,
        readWhileWrite: rec.get('rww') === true,
      };
    });
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
