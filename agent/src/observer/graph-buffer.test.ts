import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, batchHash, fileId, parseBatch, processId, type FileNode, type ProcessNode } from '@faasprov/model';
import { GraphBuffer } from './graph-buffer.js';

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
});
