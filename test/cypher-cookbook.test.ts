import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { edgeId, endpointId, instanceId, invocationId, processId, unitId, type Batch, type GraphEdge, type GraphNode } from '@faasprov/model';
import { Neo4jGraphStore, openGraphStore, type CypherPlanStep } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { ROOT } from './helpers.js';
import { recordedWorkload } from './workload.js';

/** docs/cypher.md's queries: each parsed out of the page and run on a real capture in a real Neo4j. */
interface Recipe {
  title: string;
  query: string;
  params: Record<string, unknown>;
}

function recipes(): Recipe[] {
  const md = readFileSync(join(ROOT, 'docs', 'cypher.md'), 'utf8');
  const out: Recipe[] = [];
  for (const m of md.matchAll(/^## (.+)\n(?:(?!\n## )[\s\S])*?```cypher\n([\s\S]*?)```/gm)) {
    const query = m[2]!;
    const p = /^\/\/ params: (.*)$/m.exec(query);
    out.push({ title: m[1]!.trim(), query, params: p ? (JSON.parse(p[1]!) as Record<string, unknown>) : {} });
  }
  return out;
}

/** A function deployment on node n2: checkout serves :8080 and connects to a database; another function connects elsewhere. */
function deployment(): Batch {
  const T = 1_700_000_000_000_000;
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const edge = (type: GraphEdge['type'], from: GraphNode, to: GraphNode, t: number, attrs?: GraphEdge['attrs']) =>
    edges.push({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 0, ...(attrs ? { attrs } : {}) });
  const fn = (name: string, rootPid: number, peer: string) => {
    const inst: GraphNode = { id: instanceId('n2', rootPid, T), type: 'Instance', node: 'n2', rootPid, start: T, mode: 'container', function: name };
    const p: GraphNode = { id: processId('n2', rootPid + 1, T + 1), type: 'Process', node: 'n2', pid: rootPid + 1, start: T + 1, exe: '/usr/bin/python3', argv: ['python3'] };
    const inv: GraphNode = { id: invocationId(`call-${name}`), type: 'Invocation', callId: `call-${name}`, start: T + 10, function: name, source: 'shim' };
    const u: GraphNode = { id: unitId('n2', rootPid + 1, T + 1, `call-${name}`, T + 10), type: 'Unit', node: 'n2', pid: rootPid + 1, processStart: T + 1, callId: `call-${name}`, start: T + 10, function: name };
    const served: GraphNode = { id: endpointId('0.0.0.0', 8080 + rootPid), type: 'Endpoint', address: '0.0.0.0', port: 8080 + rootPid };
    const remote: GraphNode = { id: endpointId(peer, 5432), type: 'Endpoint', address: peer, port: 5432 };
    nodes.push(inst, p, inv, u, served, remote);
    edge('WAS_ASSOCIATED_WITH', p, inst, T + 1);
    edge('WAS_GENERATED_BY', served, p, T + 2);
    edge('PART_OF', u, inv, T + 10);
    edge('WAS_INFORMED_BY', u, p, T + 10);
    edge('USED', u, remote, T + 11, { initiated: true });
  };
  fn('checkout', 0, '10.0.0.5');
  fn('other', 100, '10.0.0.9');
  return { agent: 'n2:fn', seq: 0, nodes, edges };
}

const text = (v: unknown) => (v === null || v === undefined ? v : String(v));

function operators(p: CypherPlanStep | undefined): CypherPlanStep[] {
  return p ? [p, ...p.children.flatMap(operators)] : [];
}

describe('docs/cypher.md on the real Neo4j', () => {
  let store: Neo4jGraphStore;
  const all = recipes();
  const run = async (title: string) => {
    const r = all.find((x) => x.title.startsWith(title));
    if (!r) throw new Error(`docs/cypher.md has no recipe "${title}"`);
    return store.readCypher(r.query, r.params);
  };

  beforeAll(async () => {
    store = (await openGraphStore(process.env.FAASPROV_TEST_NEO4J!)) as Neo4jGraphStore;
    await store.clear();
  }, 120000);
  afterAll(async () => {
    await store.close();
  });

  it('creates the schema idempotently when several collectors start together', async () => {
    const named = async () =>
      (await store.readCypher("SHOW INDEXES YIELD name, state, owningConstraint WHERE name STARTS WITH 'faasprov_' RETURN name, state, owningConstraint")) as {
        name: string;
        state: string;
        owningConstraint: string | null;
      }[];
    const before = await named();
    // Drop the plain indexes, then let three stores race to recreate them.
    const s = store as unknown as { driver: { session: () => { run: (q: string) => Promise<unknown>; close: () => Promise<void> } } };
    const sess = s.driver.session();
    for (const i of before.filter((x) => x.owningConstraint === null)) await sess.run(`DROP INDEX ${i.name} IF EXISTS`);
    await sess.close();
    expect((await named()).filter((x) => x.owningConstraint === null)).toEqual([]);
    const racing = await Promise.all([1, 2, 3].map(() => openGraphStore(process.env.FAASPROV_TEST_NEO4J!)));
    await Promise.all(racing.map((x) => x.close()));
    const after = await named();
    expect(after.map((x) => x.name).sort()).toEqual(before.map((x) => x.name).sort());
    expect(after.map((x) => x.name)).toEqual(expect.arrayContaining(['faasprov_file_path', 'faasprov_process_node_pid', 'faasprov_instance_function', 'faasprov_endpoint_address']));
    expect(after.every((x) => x.state === 'ONLINE')).toBe(true);
  }, 120000);

  it('loads a recorded capture and a function deployment', async () => {
    for (const b of [...recordedWorkload('n1:rec', 'n1'), deployment()]) expect((await applyBatch(store, b)).applied).toBe(true);
    // The temporal properties are Neo4j's, and never come back as model properties.
    const [batch] = await store.readCypher("MATCH (b:Batch {key: 'n2:fn#0'}) RETURN b.received AS us, b.receivedAt AS at");
    expect(Math.abs((batch!.us as number) / 1000 - Date.parse(text(batch!.at)!))).toBeLessThan(1000);
    const files = (await store.searchNodes({ type: 'File', text: 'fp-rec4', limit: 10, offset: 0 })) as Record<string, unknown>[];
    expect(files).toHaveLength(1);
    expect(files[0]).not.toHaveProperty('versionAt');
  }, 120000);

  it('has a test for every recipe', () => {
    expect(all.map((r) => r.title)).toEqual([
      'Who wrote this file?',
      'What did this process read?',
      'Where did this file come from? (time-respecting backward chain)',
      'Which endpoints did this function talk to?',
      'What was written in a time window?',
      'What did the agents miss? (gaps)',
    ]);
  });

  it('who wrote this file: mv made fp-rec4.txt from fp-rec3.txt, at its µs time', async () => {
    const rows = await run('Who wrote');
    expect(rows.map((r) => ({ exe: r.exe, pid: r.pid, wroteAt: text(r.wroteAt), version: text(r.version), from: r.derivedFrom }))).toEqual([
      { exe: '/usr/bin/mv', pid: 21837, wroteAt: '2023-11-14T23:00:05.500402000Z', version: '2023-11-14T23:00:05.500402000Z', from: '/tmp/fp-rec3.txt' },
    ]);
  });

  it('what did this process read: cat read the two files it concatenated', async () => {
    const rows = await run('What did this process read');
    const read = rows.filter((r) => r.exe === '/usr/bin/cat').map((r) => r.path);
    expect(read).toEqual(expect.arrayContaining(['/tmp/fp-rec.txt', '/tmp/fp-rec2.txt']));
    expect(rows.every((r) => typeof r.reads === 'number' && (r.reads as number) >= 1)).toBe(true);
  });

  it('backward chain: reaches the writers of the inputs, not the later rm', async () => {
    const rows = await run('Where did this file come from');
    const names = rows.map((r) => `${r.type}:${r.name}`);
    expect(names).toEqual(expect.arrayContaining(['Process:/usr/bin/mv', 'File:/tmp/fp-rec3.txt', 'Process:/usr/bin/cat', 'File:/tmp/fp-rec2.txt', 'Process:/usr/bin/wc', 'File:/tmp/fp-rec.txt']));
    // rm removed fp-rec2.txt after cat had read it: not a cause, though an edge leads there.
    expect(names).not.toContain('Process:/usr/bin/rm');
    const edgeToRm = await store.readCypher("MATCH (:File {path: '/tmp/fp-rec2.txt'})-[:WAS_INVALIDATED_BY]->(p:Process) RETURN p.exe AS exe");
    expect(edgeToRm).toEqual([{ exe: '/usr/bin/rm' }]);
    expect(rows[0]).toMatchObject({ hops: 1 });
  });

  it("a function's endpoints: what checkout served and connected to, nothing of the other function", async () => {
    const rows = await run('Which endpoints');
    expect(rows.map((r) => ({ address: r.address, port: r.port, how: r.how, by: r.by }))).toEqual([
      { address: '0.0.0.0', port: 8080, how: 'served', by: 1 },
      { address: '10.0.0.5', port: 5432, how: 'connected', by: 1 },
    ]);
  });

  it('a time window, in datetimes: the three files written in those 10 ms, by whom', async () => {
    const rows = await run('What was written in a time window');
    // The shell's truncating open (a redirect) and the program's writes both make versions.
    expect([...new Set(rows.map((r) => r.path))]).toEqual(['/tmp/fp-rec.txt', '/tmp/fp-rec2.txt', '/tmp/fp-rec3.txt']);
    expect(rows).toContainEqual(expect.objectContaining({ path: '/tmp/fp-rec2.txt', exe: '/usr/bin/wc' }));
    expect(rows.every((r) => text(r.at)! >= '2023-11-14T23:00:05.485' && text(r.at)! < '2023-11-14T23:00:05.495')).toBe(true);
  });

  it("gaps: the capture's recorded loss", async () => {
    const rows = await run('What did the agents miss');
    expect(rows.map((r) => ({ cause: r.cause, events: r.events }))).toEqual([{ cause: 'perf-buffer-overflow', events: 7 }]);
  });

  it.each([
    ['Who wrote', 'path'],
    ['What did this process read', 'pid'],
    ['Which endpoints', 'function'],
  ])('EXPLAIN of "%s" uses the index on %s', async (title, prop) => {
    const r = all.find((x) => x.title.startsWith(title))!;
    // Plan what an investigator gets: every index online (not a plan cached while the schema test
    // above had them dropped) and index statistics that count the data. The indexes were made on
    // an empty store and sampled empty; Neo4j resamples them in the background only later, and
    // until then it costs a seek and a scan of an "empty" index alike and may pick the scan.
    const s = store as unknown as { driver: { session: () => { run: (q: string) => Promise<{ records: { get: (k: string) => unknown }[] }>; close: () => Promise<void> } } };
    const sess = s.driver.session();
    try {
      await sess.run('CALL db.awaitIndexes(300)');
      await sess.run('CALL db.resampleOutdatedIndexes()');
      const sampled = async () => {
        const res = await sess.run("CALL db.stats.retrieve('GRAPH COUNTS') YIELD data RETURN data.indexes AS i");
        const idx = res.records[0]!.get('i') as { labels?: string[]; properties?: string[]; totalSize: number; updatesSinceEstimation: number }[];
        const used = idx.filter((i) => ['File:path', 'Process:node,pid', 'Instance:function'].includes(`${(i.labels ?? []).join()}:${(i.properties ?? []).join()}`));
        return used.length === 3 && used.every((i) => i.totalSize > 0 && i.updatesSinceEstimation === 0);
      };
      for (let t = Date.now(); !(await sampled()); ) {
        if (Date.now() - t > 30000) throw new Error('index statistics not resampled within 30 s');
        await new Promise((res) => setTimeout(res, 200));
      }
      await sess.run('CALL db.clearQueryCaches()');
    } finally {
      await sess.close();
    }
    const ops = operators((await store.explainCypher(r.query, r.params)).plan);
    const seeks = ops.filter((o) => o.operator === 'NodeIndexSeek' && o.details.includes(prop));
    if (seeks.length === 0) process.stderr.write(`plan of "${title}": ${ops.map((o) => `${o.operator} ${o.details}`).join(' | ')}\n`);
    expect(seeks.map((o) => o.operator)).toEqual(['NodeIndexSeek']);
    // Nothing of the lookup's label is read without the index.
    expect(ops.map((o) => o.operator)).not.toEqual(expect.arrayContaining(['NodeByLabelScan']));
    expect(ops.map((o) => o.operator)).not.toEqual(expect.arrayContaining(['NodeIndexScan']));
  });
});
