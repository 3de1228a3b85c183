import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeId, fileId, processId, type Batch } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { buildServer } from '@faasprov/graph-service';
import type { Benchmark } from './index.js';

function makeBatch(agent: string, seq: number, files: number): Batch {
  const p = { id: processId('n', seq, seq), type: 'Process' as const, node: 'n', pid: seq % 4000000, start: seq, exe: '/bin/w', argv: ['w'] };
  const nodes: Batch['nodes'] = [p];
  const edges: Batch['edges'] = [];
  for (let i = 0; i < files; i++) {
    const f = { id: fileId('n', `/data/${seq}/${i}`, 0), type: 'File' as const, node: 'n', path: `/data/${seq}/${i}`, version: 0 };
    nodes.push(f);
    edges.push({ id: edgeId('USED', p.id, f.id), type: 'USED', from: p.id, to: f.id, firstTime: seq, lastTime: seq, count: 1, bytes: 100 });
  }
  return { agent, seq, nodes, edges };
}

/** Batches per second into the embedded store: over HTTP (the collector) vs applied in-process. */
export const ingest: Benchmark = {
  name: 'ingest',
  description: 'embedded store ingest, HTTP collector vs in-process apply vs the store alone, interleaved (200 batches of 50 edges each way)',
  async run(progress) {
    const dir = mkdtempSync(join(tmpdir(), 'fp-bench-'));
    const store = new SqliteGraphStore(join(dir, 's.db'));
    const app = await buildServer({ store });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    let http = 0;
    let direct = 0;
    let storeOnly = 0;
    try {
      const rounds = 20;
      const per = 10;
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        for (let i = 0; i < per; i++) {
          const b = makeBatch('n:http', r * per + i, 50);
          const res = await fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
          if (!res.ok) throw new Error(`ingest: HTTP ${res.status}`);
        }
        http += performance.now() - t;
        t = performance.now();
        for (let i = 0; i < per; i++) await applyBatch(store, makeBatch('n:direct', r * per + i, 50));
        direct += performance.now() - t;
        // The store's own apply (one transaction per batch), on batches already validated.
        const ready = Array.from({ length: per }, (_, i) => makeBatch('n:store', r * per + i, 50));
        t = performance.now();
        for (const b of ready) await store.applyBatch(b);
        storeOnly += performance.now() - t;
      }
      progress(`http ${http.toFixed(0)} ms, direct ${direct.toFixed(0)} ms, store ${storeOnly.toFixed(0)} ms`);
      const n = rounds * per;
      return {
        batches: n,
        edgesPerBatch: 50,
        httpBatchesPerSec: (n / http) * 1000,
        directBatchesPerSec: (n / direct) * 1000,
        httpOverDirectTimeRatio: http / direct,
        // Nodes and edges written per second by SqliteGraphStore.applyBatch alone.
        storeRowsPerSec: ((n * 101) / storeOnly) * 1000,
      };
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
