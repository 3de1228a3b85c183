import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  edgeId, fileId, instanceId, invocationId, processId, unitId,
  type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode, type InstanceNode, type ProcessNode, type UnitNode,
} from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { buildServer, invocation } from '@faasprov/graph-service';
import { tempDir } from './helpers.js';

const T0 = 1_791_000_000_000_000;
const inst = (node: string, fn: string, tenant: string): InstanceNode => ({
  id: instanceId(node, 1, T0), type: 'Instance', node, rootPid: 1, start: T0, mode: 'process-tree', function: fn, tenant,
});
const unit = (node: string, pid: number, callId: string, start: number, i: InstanceNode): [ProcessNode, UnitNode] => {
  const p: ProcessNode = { id: processId(node, pid, T0), type: 'Process', node, pid, start: T0, exe: '/usr/bin/python3', argv: [], tenant: i.tenant };
  return [p, { id: unitId(node, pid, T0, callId, start), type: 'Unit', node, pid, processStart: T0, callId, start, instance: i.id, function: i.function, tenant: i.tenant }];
};
const vfile = (path: string, version: number): GraphNode => ({ id: fileId('storage-1', path, version, 'shop-data'), type: 'File', node: 'storage-1', path, version, volume: 'shop-data', tier: 'durable' });

function batch(agent: string, seq: number, edges: [EdgeType, GraphNode, GraphNode, number, EdgeAttrs?][]): Batch {
  const nodes = new Map<string, GraphNode>();
  const es: GraphEdge[] = edges.map(([type, from, to, t, attrs]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 5, ...(attrs ? { attrs } : {}) };
  });
  return { agent, seq, nodes: [...nodes.values()], edges: es };
}

// F3 volumes across nodes, on both stores: version resolution at ingest, locality, invocations.
describe('F3 volumes across nodes: both stores answer the same', () => {
  const dir = tempDir('fp-vol-');
  let sqlite: GraphStore;
  let neo: GraphStore;
  const a = inst('node-a', 'catalog', 'shop');
  const b = inst('node-b', 'photos', 'shop');
  const c = inst('node-b', 'other', 'media');
  const [pa, ua] = unit('node-a', 10, 'write-1', T0 + 10, a);
  const [pb, ub] = unit('node-b', 20, 'read-1', T0 + 100, b);
  const [pc, uc] = unit('node-b', 30, 'read-2', T0 + 110, c);
  const [, ua2] = unit('node-a', 10, 'read-3', T0 + 120, a);
  const written = vfile('/products.json', T0 + 20);
  const history = [
    // node-a writes version T0+20; node-b's agents never saw it written, so they report version 0.
    batch('node-a:1', 0, [['PART_OF', ua, { id: invocationId('write-1', 'shop'), type: 'Invocation', callId: 'write-1', start: T0 + 10, source: 'shim', tenant: 'shop' }, T0 + 10], ['WAS_INFORMED_BY', ua, pa, T0 + 10], ['WAS_GENERATED_BY', written, ua, T0 + 20]]),
    batch('node-b:1', 0, [['PART_OF', ub, { id: invocationId('read-1', 'shop'), type: 'Invocation', callId: 'read-1', start: T0 + 100, source: 'shim', tenant: 'shop' }, T0 + 100], ['WAS_INFORMED_BY', ub, pb, T0 + 100], ['USED', ub, vfile('/products.json', 0), T0 + 101, { readWhileWrite: true }]]),
    batch('node-b:1', 1, [['WAS_INFORMED_BY', uc, pc, T0 + 110], ['USED', uc, vfile('/products.json', 0), T0 + 111]]),
    // A read on the writer's own node is not remote.
    batch('node-a:1', 1, [['USED', ua2, written, T0 + 121]]),
  ];

  beforeAll(async () => {
    sqlite = new SqliteGraphStore(join(dir, 's.db'));
    neo = await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    await (neo as Neo4jGraphStore).clear();
    for (const s of [sqlite, neo]) for (const x of history) await applyBatch(s, structuredClone(x));
  }, 120000);

  afterAll(async () => {
    await sqlite?.close();
    await neo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves reads of version 0 to the version stored before them: one File entity', async () => {
    for (const s of [sqlite, neo]) {
      expect(await s.fileVersionAt('shop-data', '/products.json', T0 + 19)).toBeUndefined();
      expect(await s.fileVersionAt('shop-data', '/products.json', T0 + 500)).toBe(T0 + 20);
      const files = (await s.all()).nodes.filter((n) => n.type === 'File');
      expect(files.map((f) => f.id)).toEqual([written.id]);
    }
  });

  it('lists the remote reads, with their invocations, tenant-scoped, the same on both stores', async () => {
    for (const s of [sqlite, neo]) {
      const all = await s.remoteReads({ limit: 10 });
      expect(all.map((r) => [r.reader.id, r.producedOn, r.readOn, r.readWhileWrite, (r.invocation as { callId?: string } | undefined)?.callId])).toEqual([
        [ub.id, 'node-a', 'node-b', true, 'read-1'],
        [uc.id, 'node-a', 'node-b', false, undefined],
      ]);
      expect((await s.remoteReads({ limit: 10, tenants: ['media'] })).map((r) => r.reader.id)).toEqual([uc.id]);
      expect(await s.remoteReads({ limit: 10, since: T0 + 200 })).toEqual([]);
    }
  });

  it('answers the locality and invocation routes with the key\'s tenants', async () => {
    const app = await buildServer({ store: neo, collector: false, uiDir: false });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/locality/remote-reads' });
      expect((r.json() as { reads: unknown[] }).reads).toHaveLength(2);
      const inv = await app.inject({ method: 'GET', url: '/api/v1/invocations/read-1' });
      expect(inv.statusCode).toBe(200);
      expect((inv.json() as { units: { id: string }[] }).units.map((u) => u.id)).toEqual([ub.id]);
      expect((await app.inject({ method: 'GET', url: '/api/v1/invocations/nope' })).json()).toMatchObject({ code: 'FP_ERR_UNKNOWN_INVOCATION' });
      expect((await app.inject({ method: 'GET', url: '/api/v1/invocations/a%20b' })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
    const view = await invocation(sqlite, 'read-1', { scope: { all: false, tenants: new Set(['media']) } }).catch((e: { code: string }) => e.code);
    expect(view).toBe('FP_ERR_UNKNOWN_INVOCATION');
  });
});
