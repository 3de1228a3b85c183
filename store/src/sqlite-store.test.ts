import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { edgeId, fileId, pipeId, processId, type Batch, type GraphNode } from '@faasprov/model';
import { SqliteGraphStore } from './sqlite-store.js';

function batch(seq: number, exitCode?: number): Batch {
  const p = { id: processId('n', 1, 1), type: 'Process' as const, node: 'n', pid: 1, start: 1, exe: '/bin/x', argv: ['x'], ...(exitCode === undefined ? {} : { exitCode }) };
  const f = { id: fileId('n', '/f', 0), type: 'File' as const, node: 'n', path: '/f', version: 0 };
  return { agent: 'a', seq, nodes: [p, f], edges: [{ id: edgeId('USED', p.id, f.id), type: 'USED', from: p.id, to: f.id, firstTime: 10 + seq, lastTime: 20 + seq, count: 1, bytes: 3 }] };
}

describe('SqliteGraphStore', () => {
  it('merges repeated ids inside one batch in memory exactly as it merges them across batches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const one = new SqliteGraphStore(join(dir, 'one.db'));
    const many = new SqliteGraphStore(join(dir, 'many.db'));
    try {
      const parts = [batch(0), batch(5, 3), batch(9)];
      parts[2]!.edges[0]!.attrs = { readWhileWrite: true };
      // One batch holding all three: the same node and edge ids several times over.
      const joined: Batch = { agent: 'a', seq: 0, nodes: parts.flatMap((b) => b.nodes), edges: parts.flatMap((b) => b.edges) };
      expect(await one.applyBatch(joined)).toEqual({ applied: true, nodes: 6, edges: 3 });
      for (const [i, b] of parts.entries()) await many.applyBatch({ ...b, seq: i });
      const [a, b] = [await one.all(), await many.all()];
      expect(a).toEqual(b);
      expect(a.edges).toEqual([expect.objectContaining({ firstTime: 10, lastTime: 29, count: 3, bytes: 9, attrs: { readWhileWrite: true } })]);
      expect(a.nodes.find((n) => n.type === 'Process')).toMatchObject({ exitCode: 3 });
    } finally {
      await one.close();
      await many.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is in WAL mode, dedupes by (agent, seq), merges node attributes and widens edges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const file = join(dir, 's.db');
    const s = new SqliteGraphStore(file);
    try {
      expect((await s.applyBatch(batch(0))).applied).toBe(true);
      expect((await s.applyBatch(batch(0))).applied).toBe(false);
      expect((await s.applyBatch(batch(5, 3))).applied).toBe(true);
      const g = await s.all();
      expect(g.nodes.find((n) => n.type === 'Process')).toMatchObject({ exe: '/bin/x', exitCode: 3 });
      expect(g.edges).toEqual([expect.objectContaining({ firstTime: 10, lastTime: 25, count: 2, bytes: 6 })]);
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.close();
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('expands backward only over edges that began before the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const s = new SqliteGraphStore(join(dir, 's.db'));
    try {
      await s.applyBatch(batch(0));
      const p = batch(0).nodes[0]!.id;
      expect(await s.expand([{ id: p, bound: 9 }], 'backward')).toHaveLength(0);
      expect(await s.expand([{ id: p, bound: 10 }], 'backward')).toHaveLength(1);
      const f = batch(0).nodes[1]!.id;
      expect(await s.expand([{ id: f, bound: 21 }], 'forward')).toHaveLength(0);
      expect((await s.expand([{ id: f, bound: 20 }], 'forward'))[0]).toMatchObject({ neighbor: p });
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers many frontier entries and ids in one call, per entry and in the order given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const s = new SqliteGraphStore(join(dir, 's.db'));
    try {
      await s.applyBatch(batch(0));
      const [p, f] = batch(0).nodes.map((n) => n.id) as [string, string];
      // Each entry with its own bound: the same node twice, once too early.
      const steps = await s.expand([{ id: p, bound: 9 }, { id: 'p_missing', bound: 99 }, { id: p, bound: 10 }], 'backward');
      expect(steps.map((x) => [x.via, x.neighbor])).toEqual([[p, f]]);
      const back = await s.expand([{ id: f, bound: 20 }, { id: f, bound: 0 }], 'forward');
      expect(back.map((x) => [x.via, x.neighbor, x.edge.firstTime])).toEqual([[f, p, 10], [f, p, 10]]);
      expect((await s.getNodes([f, 'p_missing', p])).map((n) => n.id)).toEqual([f, p]);
      expect(await s.getNodes([])).toEqual([]);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rewrites a schema 2 store (ids and types as text) in the current schema, content unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const file = join(dir, 'old.db');
    const b = batch(0);
    b.edges[0]!.attrs = { readWhileWrite: true };
    const old = new Database(file);
    old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE nodes (id TEXT PRIMARY KEY, type TEXT NOT NULL, attrs TEXT NOT NULL);
      CREATE INDEX nodes_type ON nodes(type);
      CREATE TABLE edges (id TEXT PRIMARY KEY, type TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, first_time INTEGER NOT NULL,
        last_time INTEGER NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, attrs TEXT);
      CREATE INDEX edges_src ON edges(src, first_time);
      CREATE INDEX edges_dst ON edges(dst, last_time);
      CREATE TABLE batches (agent TEXT NOT NULL, seq INTEGER NOT NULL, received INTEGER NOT NULL, nodes INTEGER NOT NULL, edges INTEGER NOT NULL,
        hash TEXT, prev TEXT, PRIMARY KEY (agent, seq));
      INSERT INTO meta VALUES ('schema', '2');
      INSERT INTO batches VALUES ('a', 0, 1, 2, 1, NULL, NULL);`);
    for (const { id, type, ...attrs } of b.nodes) old.prepare('INSERT INTO nodes VALUES (?, ?, ?)').run(id, type, JSON.stringify(attrs));
    const e = b.edges[0]!;
    old.prepare('INSERT INTO edges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(e.id, e.type, e.from, e.to, e.firstTime, e.lastTime, e.count, e.bytes, JSON.stringify(e.attrs));
    old.close();
    const s = new SqliteGraphStore(file);
    try {
      expect(await s.all()).toEqual({ nodes: b.nodes, edges: b.edges });
      expect((await s.applyBatch(batch(0))).applied).toBe(false);
      expect(await s.expand([{ id: e.from, bound: 99 }], 'backward')).toEqual([{ via: e.from, edge: e, neighbor: e.to }]);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds and counts nodes of a type through the id index, odd bulk-loaded ids too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-store-'));
    const s = new SqliteGraphStore(join(dir, 's.db'));
    try {
      const b = batch(0);
      const odd = { ...b.nodes[0]!, id: 'odd process' } as GraphNode;
      const pipe = { id: pipeId('n', 1, 1, 3), type: 'Pipe' as const, node: 'n', kind: 'pipe' as const, pid: 1, created: 1, fd: 3 };
      await s.load({ nodes: [...b.nodes, odd, pipe], edges: b.edges });
      expect((await s.stats()).nodesByType).toEqual({ Process: 2, File: 1, Pipe: 1 });
      const ids = async (type: string) => (await s.searchNodes({ type, limit: 10, offset: 0 })).map((n) => n.id).sort();
      expect(await ids('Process')).toEqual([b.nodes[0]!.id, 'odd process'].sort());
      expect(await ids('Pipe')).toEqual([pipe.id]);
      expect(await ids('Nope')).toEqual([]);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
