import { describe, expect, it, beforeEach, afterEach } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { edgeId, fileId, processId, type Batch } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

function sampleBatch(seq = 0): Batch {
  const p = { id: processId('n1', 42, 1000), type: 'Process' as const, node: 'n1', pid: 42, start: 1000, exe: '/usr/bin/cat', argv: ['cat', 'x'] };
  const f = { id: fileId('n1', '/etc/hostname', 0), type: 'File' as const, node: 'n1', path: '/etc/hostname', version: 0 };
  return {
    agent: 'n1:agent-1',
    seq,
    nodes: [p, f],
    edges: [{ id: edgeId('USED', p.id, f.id), type: 'USED', from: p.id, to: f.id, firstTime: 1100, lastTime: 1200, count: 2, bytes: 10 }],
  };
}

// A real HTTP server on loopback with a real SQLite store.
describe('collector over HTTP', () => {
  let dir: string;
  let store: SqliteGraphStore;
  let app: FastifyInstance;
  let url: string;

  beforeEach(async () => {
    dir = tempDir();
    store = new SqliteGraphStore(join(dir, 's.db'));
    app = await buildServer({ store, bodyLimit: 64 * 1024 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, raw?: string) =>
    fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });

  it('stores a batch sent twice once, and acknowledges both', async () => {
    const a = await post(sampleBatch());
    expect(a.status).toBe(200);
    expect(await a.json()).toMatchObject({ status: 'stored', agent: 'n1:agent-1', seq: 0, nodes: 2, edges: 1 });
    const b = await post(sampleBatch());
    expect(b.status).toBe(200);
    expect(await b.json()).toMatchObject({ status: 'duplicate' });
    const { edges } = await store.all();
    expect(edges).toHaveLength(1);
    expect(edges[0]).toMatchObject({ count: 2, bytes: 10 });
    expect(await store.stats()).toMatchObject({ nodes: 2, edges: 1, batches: 1 });
  });

  it('adds up repeated edges from later batches', async () => {
    await post(sampleBatch(0));
    await post(sampleBatch(1));
    const [e] = (await store.all()).edges;
    expect(e).toMatchObject({ count: 4, bytes: 20, firstTime: 1100, lastTime: 1200 });
  });

  it.each([
    ['a missing field', (b: Batch) => { delete (b as Partial<Batch>).seq; }, 'seq'],
    ['a bad node field', (b: Batch) => { (b.nodes[0] as { pid: unknown }).pid = 'forty-two'; }, 'nodes/0/pid'],
    ['an unknown node type', (b: Batch) => { (b.nodes[1] as { type: string }).type = 'Banana'; }, 'nodes/1/type'],
    ['an id that is not the natural key', (b: Batch) => { (b.nodes[1] as { path: string }).path = '/etc/shadow'; }, 'nodes/1/id'],
    ['an edge to a node not in the batch', (b: Batch) => { b.nodes.pop(); }, 'edges/0/to'],
    ['an edge against PROV direction', (b: Batch) => { const e = b.edges[0]!; [e.from, e.to] = [e.to, e.from]; }, 'edges/0/type'],
    ['negative bytes', (b: Batch) => { b.edges[0]!.bytes = -1; }, 'edges/0/bytes'],
    ['an extra field', (b: Batch) => { (b.nodes[0] as Record<string, unknown>).cypher = 'MATCH (n) DETACH DELETE n'; }, 'nodes/0'],
  ])('rejects %s with 400 naming the field, and stores nothing', async (_what, spoil, field) => {
    const b = sampleBatch();
    spoil(b);
    const r = await post(b);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.message).toContain(field);
    expect(body.code).toMatch(/^FP_ERR_/);
    expect(await store.stats()).toMatchObject({ nodes: 0, edges: 0, batches: 0 });
  });

  it('rejects invalid JSON and oversized bodies without storing', async () => {
    const bad = await post(undefined, '{"agent": ');
    expect(bad.status).toBe(400);
    const huge = sampleBatch();
    (huge.nodes[0] as { argv: string[] }).argv = Array.from({ length: 200 }, () => 'x'.repeat(1000));
    const big = await post(huge);
    expect(big.status).toBe(413);
    expect((await store.stats()).batches).toBe(0);
  });

  it('answers traces and node lookups, with 404 for unknown ids', async () => {
    await post(sampleBatch());
    const p = sampleBatch().nodes[0]!;
    const t = await fetch(`${url}/api/v1/trace?from=${p.id}&direction=backward`);
    expect(t.status).toBe(200);
    const body = (await t.json()) as { nodes: { id: string }[] };
    expect(body.nodes.map((n) => n.id).sort()).toEqual(sampleBatch().nodes.map((n) => n.id).sort());
    const missing = await fetch(`${url}/api/v1/nodes/p_00000000000000000000000000000000`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('FP_ERR_UNKNOWN_NODE');
  });
});
