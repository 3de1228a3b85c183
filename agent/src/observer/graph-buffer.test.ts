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
    const batches = buf.cutBounded('n1:a', 5, GENESIS_HASH, max);
    expect(batches.length).toBeGreaterThan(1);
    let prev = GENESIS_HASH;
    const written = new Set<string>();
    batches.forEach((b, i) => {
      expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(max);
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
    const [b, ...rest] = buf.cutBounded('n1:a', 0, GENESIS_HASH, 1024 * 1024);
    expect(rest).toEqual([]);
    expect(b!.nodes).toEqual([p]);
  });
});
