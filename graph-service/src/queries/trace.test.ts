import { describe, expect, it, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeId, fileId, processId, type EdgeType, type GraphNode, ALL_TENANTS } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { trace } from './trace.js';

const proc = (pid: number): GraphNode => ({ id: processId('n', pid, pid), type: 'Process', node: 'n', pid, start: pid, exe: `/bin/p${pid}`, argv: [] });
const file = (path: string, version = 0): GraphNode => ({ id: fileId('n', path, version), type: 'File', node: 'n', path, version });

describe('trace (time-respecting)', () => {
  let dir: string;
  let store: SqliteGraphStore;
  const P = proc(1);
  const Q = proc(2);
  const secret = file('/secret');
  const early = file('/early', 5);
  const late = file('/late', 50);
  let seq = 0;
  const add = async (type: EdgeType, from: GraphNode, to: GraphNode, t: number) =>
    store.applyBatch({ agent: 'a', seq: seq++, nodes: [from, to], edges: [{ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 1 }] });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-trace-'));
    store = new SqliteGraphStore(join(dir, 's.db'));
    // P writes /early at 5, reads /secret at 10, writes /late at 50; Q reads /early at 60.
    await add('WAS_GENERATED_BY', early, P, 5);
    await add('USED', P, secret, 10);
    await add('WAS_GENERATED_BY', late, P, 50);
    await add('USED', Q, early, 60);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ids = (r: { nodes: GraphNode[] }) => r.nodes.map((n) => n.id).sort();

  it('backward: what was written before a read cannot depend on it', async () => {
    expect(ids(await trace(store, late.id, { direction: 'backward', scope: ALL_TENANTS }))).toEqual([P.id, late.id, secret.id].sort());
    expect(ids(await trace(store, early.id, { direction: 'backward', scope: ALL_TENANTS }))).toEqual([P.id, early.id].sort());
  });

  it('forward: a leak reaches what was written after the read, not before', async () => {
    const r = await trace(store, secret.id, { direction: 'forward', scope: ALL_TENANTS });
    expect(ids(r)).toEqual([P.id, late.id, secret.id].sort());
    expect(ids(await trace(store, P.id, { direction: 'forward', scope: ALL_TENANTS }))).toEqual([P.id, early.id, late.id, Q.id].sort());
  });

  it('reports depth truncation and refuses unknown nodes and bad options', async () => {
    expect((await trace(store, late.id, { direction: 'backward', scope: ALL_TENANTS, maxDepth: 1 })).truncated).toBe(true);
    await expect(trace(store, 'p_00000000000000000000000000000000', { direction: 'backward', scope: ALL_TENANTS })).rejects.toThrow(/no node with id/);
    await expect(trace(store, P.id, { direction: 'sideways' as 'forward', scope: ALL_TENANTS })).rejects.toThrow(/trace: direction/);
  });
});
