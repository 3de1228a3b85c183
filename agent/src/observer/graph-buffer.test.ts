import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, batchHash, edgeId, fileId, parseBatch, processId, type FileNode, type GraphEdge, type ProcessNode } from '@faasprov/model';
import { GraphBuffer, edgeJson } from './graph-buffer.js';

describe('GraphBuffer.cutBounded', () => {
  it('splits a burst of 4,000 written files into chained, self-contained batches under the byte bound', () => {
    const buf = new GraphBuffer(false);
    const p: ProcessNode = { id: processId('n1', 7, 1), type: 'Process', node: 'n1', pid: 7, start: 1, exe: '/usr/bin/python3', argv: ['python3', 'burst.py'] };
    for (let i = 0; i < 4000; i++) {
      const path = `/srv/data/burst/some-longer-directory-name/file-${String(i).padStart(5, '0')}.json`;
      const f: FileNode = { id: fileId('n1', path, 1000 + i), type: 'File', node: 'n1', path, version: 1000 + i, tenant: 'team-a' };
      buf.addEdge('WAS_GENERATED_BY', f, p, 1000 + i, 1000 + i, 1, 64);
    }
    const max = 1024 * 1024;
    const cut = buf.cutBounded('n1:a', 5, GENESIS_HASH, max);
    expect(cut.length).toBeGreaterThan(1);
    const batches = cut.map((c) => c.batch);
    let prev = GENESIS_HASH;
    const written = new Set<string>();
    batches.forEach((b, i) => {
      // The JSON made from the pieces is JSON.stringify's, and the hash is batchHash's.
      expect(cut[i]!.json).toBe(JSON.stringify(b));
      expect(Buffer.byteLength(cut[i]!.json)).toBeLessThanOrEqual(max);
      expect(b.seq).toBe(5 + i);
      expect(b.prev).toBe(prev);
      expect(b.hash).toBe(batchHash(b));
      prev = b.hash!;
      parseBatch(JSON.parse(JSON.stringify(b)));
      for (const e of b.edges) written.add(e.from);
    });
    expect(written.size).toBe(4000);
    // One batch would have passed NATS's default max_payload (1 MiB).
    expect(batches.reduce((a, b) => a + Buffer.byteLength(JSON.stringify(b)), 0)).toBeGreaterThan(max);
    expect(buf.isEmpty()).toBe(true);
  });

  it('keeps a small buffer in one batch, with the nodes no edge names', () => {
    const buf = new GraphBuffer(false);
    const p: ProcessNode = { id: processId('n1', 7, 1), type: 'Process', node: 'n1', pid: 7, start: 1, exe: '/bin/sh', argv: [] };
    buf.upsertNode(p);
    const [c, ...rest] = buf.cutBounded('n1:a', 0, GENESIS_HASH, 1024 * 1024);
    expect(rest).toEqual([]);
    expect(c!.batch.nodes).toEqual([p]);
    expect(c!.json).toBe(JSON.stringify(c!.batch));
  });

  it('writes the JSON and hash of a batch as JSON.stringify and batchHash do, whatever the strings hold', () => {
    const buf = new GraphBuffer(false);
    const p: ProcessNode = { id: processId('n1', 7, 1), type: 'Process', node: 'n1', pid: 7, start: 1, exe: '/bin/sh', argv: ['sh', '-c', 'echo "\u2028 \\ \u0000 é 😀"'] };
    const path = '/srv/odd "name"\n\t\u0001/é.txt';
    const f: FileNode = { id: fileId('n1', path, 3), type: 'File', node: 'n1', path, version: 3 };
    buf.addEdge('WAS_GENERATED_BY', f, p, 3, 4, 2, 10, { openFlags: 577 });
    const agent = 'n1:"quoted"';
    const [c] = buf.cutBounded(agent, 12, 'ab'.repeat(32), 1024 * 1024);
    expect(c!.json).toBe(JSON.stringify(c!.batch));
    expect(c!.batch.hash).toBe(batchHash(JSON.parse(c!.json)));
    expect(JSON.parse(c!.json)).toMatchObject({ agent, seq: 12, prev: 'ab'.repeat(32), nodes: [f, p] });
  });

  it('gives an edge the same id in every batch it comes back in, and collapses repeats within one', () => {
    const buf = new GraphBuffer(false);
    const p: ProcessNode = { id: processId('n1', 7, 1), type: 'Process', node: 'n1', pid: 7, start: 1, exe: '/bin/sh', argv: [] };
    const f: FileNode = { id: fileId('n1', '/tmp/a', 0), type: 'File', node: 'n1', path: '/tmp/a', version: 0 };
    const ids: string[][] = [];
    for (let cut = 0; cut < 3; cut++) {
      buf.addEdge('USED', p, f, 10 + cut, 10 + cut, 1, 5);
      buf.addEdge('USED', p, f, 11 + cut, 12 + cut, 2, 7, { inferred: true });
      // Same endpoints, another type: another edge.
      buf.addEdge('WAS_GENERATED_BY', f, p, 10, 10, 1, 0);
      if (cut === 1) buf.addEdge('USED', p, { ...f, id: fileId('n1', '/tmp/b', 0), path: '/tmp/b' }, 1, 1, 1, 0);
      const [c] = buf.cutBounded('n1:a', cut, GENESIS_HASH, 1024 * 1024);
      expect(c!.json).toBe(JSON.stringify(c!.batch));
      ids.push(c!.batch.edges.map((e) => e.id));
      expect(c!.batch.edges[0]).toMatchObject({ type: 'USED', firstTime: 10 + cut, lastTime: 12 + cut, count: 3, bytes: 12, attrs: { inferred: true } });
    }
    const used = edgeId('USED', p.id, f.id);
    const made = edgeId('WAS_GENERATED_BY', f.id, p.id);
    expect(ids).toEqual([[used, made], [used, made, edgeId('USED', p.id, fileId('n1', '/tmp/b', 0))], [used, made]]);
  });

  it('writes an edge\'s JSON as JSON.stringify does, whatever its ids, numbers and attrs', () => {
    const base: GraphEdge = { id: 'e_0123', type: 'USED', from: 'p_ab', to: 'f_cd', firstTime: 1700000000123456, lastTime: 1700000000123457, count: 3, bytes: 0 };
    const edges: GraphEdge[] = [
      base,
      { ...base, attrs: { inferred: true, openFlags: 577 } },
      { ...base, from: 'p "quoted"\n', to: 'f_\u00e9' },
      { ...base, firstTime: Number.NaN, bytes: Number.POSITIVE_INFINITY },
      { ...base, count: -0, bytes: 1e21 },
    ];
    for (const e of edges) expect(edgeJson(e)).toBe(JSON.stringify(e));
  });
});
