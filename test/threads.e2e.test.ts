import { describe, expect, it, afterAll } from '@jest/globals';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FileNode, UnitNode } from '@faasprov/model';
import { faasprov, pythonExe, readGraph, ROOT, tempDir } from './helpers.js';

// Real bpftrace, a real threaded Python server with per-thread markers, 8 requests in flight.
describe('invocation units per thread (real bpftrace)', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('charges every operation of 8 concurrent requests to its own invocation, exactly', async () => {
    const N = 8;
    const work = join(dir, 'work');
    const out = join(dir, 'g.json');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work);
    const run = faasprov(['run', '--store', join(dir, 's.db'), '--format', 'json', '--out', out, '--', await pythonExe(), join(ROOT, 'test/fixtures/threaded_function.py'), work, String(N)], { buffer: false });
    const port = await new Promise<number>((resolve, reject) => {
      run.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      void run.then(() => reject(new Error('the function exited before it listened')));
    });
    const ids = Array.from({ length: N }, (_, i) => `call-${i}-${process.pid}`);
    const bodies = await Promise.all(ids.map((id) => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'X-Call-Id': id }, body: `body of ${id}` }).then((r) => r.text())));
    expect(bodies).toEqual(ids.map((id) => `body of ${id}`));
    const r = await run;
    expect(r.exitCode).toBe(0);
    expect(readdirSync(work).sort()).toEqual(ids.map((id) => `${id}-done.txt`).sort());

    const g = readGraph(out);
    const units = g.nodes.filter((n): n is UnitNode => n.type === 'Unit');
    expect(units.map((u) => u.callId).sort()).toEqual([...ids].sort());
    expect(new Set(units.map((u) => u.tid)).size).toBe(N);
    // Every operation on a path unique to a call is its unit's, and none is an inference.
    let ops = 0;
    for (const u of units) {
      const mine = g.nodes.filter((n): n is FileNode => n.type === 'File' && n.path.startsWith(join(work, u.callId)));
      expect(mine.length).toBeGreaterThanOrEqual(2); // -out.txt (written, read, renamed) and -done.txt
      for (const f of mine) {
        // Edges between the file and who acted on it (not version to version).
        const edges = g.edges.filter((e) => (e.from === f.id || e.to === f.id) && e.type !== 'WAS_DERIVED_FROM');
        for (const e of edges) {
          ops += e.count;
          expect({ callId: u.callId, path: f.path, type: e.type, subject: e.from === f.id ? e.to : e.from }).toEqual({ callId: u.callId, path: f.path, type: e.type, subject: u.id });
          expect(e.attrs?.inferred).toBeUndefined();
        }
      }
    }
    // Per call: a write, a read, the rename's use of the old name and the new name's generation.
    expect(ops).toBeGreaterThanOrEqual(4 * N);
  }, 180000);
});
