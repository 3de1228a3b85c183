import { describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS_HASH, batchHash, edgeId, fileId, processId, type Batch, type GraphNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { DiskSpool } from '@faasprov/agent';
import { tempDir } from './helpers.js';

/** Batch i: process 7 writes file /srv/out-i once. */
function write(agent: string, seq: number, prev: string): Batch {
  const p = { id: processId('n1', 7, 1), type: 'Process', node: 'n1', pid: 7, start: 1, exe: '/bin/sh', argv: ['sh'] } as GraphNode;
  const path = `/srv/out-${seq}`;
  const f = { id: fileId('n1', path, 100 + seq), type: 'File', node: 'n1', path, version: 100 + seq } as GraphNode;
  const e = { id: edgeId('WAS_GENERATED_BY', f.id, p.id), type: 'WAS_GENERATED_BY' as const, from: f.id, to: p.id, firstTime: 100 + seq, lastTime: 100 + seq, count: 1, bytes: 3 };
  const b: Batch = { agent, seq, sentAt: 1, nodes: [p, f], edges: [e], prev };
  b.hash = batchHash(b);
  return b;
}

/** What the shipper does: send the oldest pending batch, ack it once the collector committed it. */
async function ship(spool: DiskSpool, store: SqliteGraphStore): Promise<string[]> {
  const said: string[] = [];
  for (let p = spool.peek(); p; p = spool.peek()) {
    said.push(`${p.seq} ${(await applyBatch(store, JSON.parse(p.body))).status}`);
    spool.ack(p.seq);
  }
  return said;
}

/**
 * The spool's `acked` file is replaced but not fsynced. A kill -9 leaves it as written (the
 * kernel has it); a power cut may leave an older seq, or an empty file. Either way the batches
 * after it that are still on disk go again, and the collector stores each write once.
 */
describe('an acked file older than the acknowledgements (not fsynced, power cut)', () => {
  for (const [what, content, again] of [
    ['an older seq', '1\n', ['2 duplicate', '3 duplicate', '4 duplicate', '5 stored']],
    ['an empty file', '', ['0 duplicate', '1 duplicate', '2 duplicate', '3 duplicate', '4 duplicate', '5 stored']],
    ['a torn number', '3x', ['0 duplicate', '1 duplicate', '2 duplicate', '3 duplicate', '4 duplicate', '5 stored']],
  ] as const) {
    it(`${what}: the batches after it are sent again and stored once`, async () => {
      const dir = tempDir('fp-ack-');
      const store = new SqliteGraphStore(join(dir, 's.db'));
      try {
        const spoolDir = join(dir, 'spool');
        const first = new DiskSpool({ dir: spoolDir, node: 'n1' });
        let prev = GENESIS_HASH;
        for (let i = 0; i < 5; i++) {
          const b = write(first.agent, first.nextSeq, prev);
          expect(first.append(b)).toBe(true);
          prev = b.hash!;
        }
        expect(await ship(first, store)).toEqual(['0 stored', '1 stored', '2 stored', '3 stored', '4 stored']);
        first.close();
        // The power cut: the acked file lost its last replacements.
        writeFileSync(join(spoolDir, 'acked'), content);

        const second = new DiskSpool({ dir: spoolDir, node: 'n1' });
        expect(second.agent).toBe(first.agent);
        // The chain goes on from the last spooled batch, not from the stale ack.
        expect(second.nextSeq).toBe(5);
        expect(second.lastHash).toBe(prev);
        const b = write(second.agent, second.nextSeq, second.lastHash);
        expect(second.append(b)).toBe(true);
        expect(await ship(second, store)).toEqual(again);
        second.close();

        const { nodes, edges } = await store.all();
        const written = edges.filter((e) => e.type === 'WAS_GENERATED_BY');
        expect(written.map((e) => e.count)).toEqual([1, 1, 1, 1, 1, 1]);
        expect(nodes.filter((n) => n.type === 'File')).toHaveLength(6);
        expect(nodes.filter((n) => n.type === 'Gap')).toEqual([]);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
