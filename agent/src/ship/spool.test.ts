import { describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_HASH, batchHash, type Batch } from '@faasprov/model';
import { DiskSpool } from './spool.js';

function batch(agent: string, seq: number, prev: string): Batch {
  const b: Batch = { agent, seq, prev, nodes: [], edges: [] };
  b.hash = batchHash(b);
  return b;
}

describe('DiskSpool', () => {
  const withDir = (f: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-spool-'));
    try {
      f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('keeps unacknowledged batches across a restart, in order, with the chain intact', () =>
    withDir((dir) => {
      const a = new DiskSpool({ dir, node: 'n1' });
      let prev = GENESIS_HASH;
      for (let i = 0; i < 5; i++) {
        const b = batch(a.agent, a.nextSeq, prev);
        expect(a.append(b)).toBe(true);
        prev = b.hash!;
      }
      a.ack(1);
      a.close();
      const b = new DiskSpool({ dir, node: 'n1' });
      expect(b.agent).toBe(a.agent);
      expect(b.nextSeq).toBe(5);
      expect(b.lastHash).toBe(prev);
      expect(b.pendingCount).toBe(3);
      expect(JSON.parse(b.peek()!.body).seq).toBe(2);
      expect(b.resume).toMatchObject({ lastSeq: 4, tornLines: 0 });
      b.close();
    }));

  it('deletes segments once every batch in them is acknowledged', () =>
    withDir((dir) => {
      const s = new DiskSpool({ dir, node: 'n1', segmentBytes: 1 });
      for (let i = 0; i < 3; i++) s.append(batch(s.agent, i, GENESIS_HASH));
      expect(readdirSync(dir).filter((f) => f.startsWith('seg-'))).toHaveLength(3);
      s.ack(1);
      expect(readdirSync(dir).filter((f) => f.startsWith('seg-'))).toHaveLength(1);
      s.close();
    }));

  it('counts as its bytes only what is pending, not acknowledged lines left in the active segment', () =>
    withDir((dir) => {
      const s = new DiskSpool({ dir, node: 'n1' });
      const sizes = [0, 1, 2].map((i) => {
        const b = batch(s.agent, i, GENESIS_HASH);
        s.append(b);
        return Buffer.byteLength(JSON.stringify(b)) + 1;
      });
      expect(s.bytes).toBe(sizes[0]! + sizes[1]! + sizes[2]!);
      s.ack(1);
      expect(s.bytes).toBe(sizes[2]);
      s.close();
      const again = new DiskSpool({ dir, node: 'n1' });
      expect(again.bytes).toBe(sizes[2]);
      again.ack(2);
      expect(again.bytes).toBe(0);
      again.close();
    }));

  it('writes each batch as its JSON line, byte for byte, and counts its UTF-8 bytes', () =>
    withDir((dir) => {
      const s = new DiskSpool({ dir, node: 'n1' });
      const b = batch(s.agent, 0, GENESIS_HASH);
      b.nodes.push({ id: 'f_1', type: 'File', node: 'n1', path: '/srv/é 😀 "q"\n', version: 0 });
      const json = JSON.stringify(b);
      expect(s.append(b, json)).toBe(true);
      expect(s.append(batch(s.agent, 1, b.hash!))).toBe(true);
      const file = readdirSync(dir).find((f) => f.startsWith('seg-'))!;
      const lines = readFileSync(join(dir, file), 'utf8').split('\n');
      expect(lines[0]).toBe(json);
      expect(lines).toHaveLength(3);
      expect(s.peek()!.body).toBe(json);
      const sizes = lines.slice(0, 2).map((l) => Buffer.byteLength(l) + 1);
      expect(s.bytes).toBe(sizes[0]! + sizes[1]!);
      s.ack(0);
      expect(s.bytes).toBe(sizes[1]);
      s.close();
    }));

  it('refuses to pass its size cap instead of growing without bound', () =>
    withDir((dir) => {
      const s = new DiskSpool({ dir, node: 'n1', maxBytes: 300 });
      expect(s.append(batch(s.agent, 0, GENESIS_HASH))).toBe(true);
      expect(s.append(batch(s.agent, 1, GENESIS_HASH))).toBe(false);
      expect(s.pendingCount).toBe(1);
      s.close();
    }));

  it('counts a line torn by a crash and keeps the rest', () =>
    withDir((dir) => {
      const s = new DiskSpool({ dir, node: 'n1' });
      s.append(batch(s.agent, 0, GENESIS_HASH));
      s.close();
      const seg = readdirSync(dir).find((f) => f.startsWith('seg-'))!;
      appendFileSync(join(dir, seg), '{"agent":"n1:x","seq":1,"nod');
      const again = new DiskSpool({ dir, node: 'n1' });
      expect(again.pendingCount).toBe(1);
      expect(again.resume?.tornLines).toBe(1);
      again.close();
    }));

  it('gives a fresh spool a fresh agent id, so sequence numbers never collide', () =>
    withDir((dir) => {
      const a = new DiskSpool({ dir: join(dir, 'a'), node: 'n1' });
      const b = new DiskSpool({ dir: join(dir, 'b'), node: 'n1' });
      expect(a.agent).not.toBe(b.agent);
      expect(a.agent).toMatch(/^n1:[0-9a-f]{12}$/);
      a.close();
      b.close();
    }));
});
