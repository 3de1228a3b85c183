import { describe, expect, it, afterAll } from '@jest/globals';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitNode } from '@faasprov/model';
import { faasprov, pythonExe, readGraph, ROOT, tempDir } from './helpers.js';

// Real bpftrace, a real threaded Python server (one thread accepts, a new thread per connection
// reads the request, then writes the begin marker), 8 requests in flight.
describe('request bytes read before the begin marker (real bpftrace)', () => {
  const dir = tempDir('fp-reqreads-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('each request, read from a connection of its own, is on the unit that served it, none on another or inferred', async () => {
    const N = 8;
    const work = join(dir, 'work');
    const out = join(dir, 'g.json');
    mkdirSync(work);
    const run = faasprov(['run', '--store', join(dir, 's.db'), '--format', 'json', '--out', out, '--', await pythonExe(), join(ROOT, 'test/fixtures/threaded_function.py'), work, String(N)], { buffer: false });
    const port = await new Promise<number>((resolve, reject) => {
      run.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      void run.then(() => reject(new Error('the function exited before it listened')));
    });
    const ids = Array.from({ length: N }, (_, i) => `rq-${i}-${process.pid}`);
    await Promise.all(ids.map((id) => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'X-Call-Id': id }, body: `body of ${id}` }).then((r) => r.text())));
    expect((await run).exitCode).toBe(0);

    const g = readGraph(out);
    const units = g.nodes.filter((n): n is UnitNode => n.type === 'Unit');
    expect(units.map((u) => u.callId).sort()).toEqual([...ids].sort());
    // Each request is read from its own connection (what its client sent), not from the listening address.
    const requests = g.nodes.filter((n) => n.type === 'Connection' && n.flow === 'toServer').map((n) => n.id);
    const reads = g.edges.filter((e) => e.type === 'USED' && requests.includes(e.to));
    // Every request's bytes (request line, headers, body) on its own unit, exactly; none on the process image.
    expect(reads.map((e) => e.from).sort()).toEqual(units.map((u) => u.id).sort());
    for (const e of reads) {
      const u = units.find((x) => x.id === e.from)!;
      expect(e.bytes).toBeGreaterThanOrEqual(`POST / HTTP/1.1\r\nX-Call-Id: ${u.callId}\r\n`.length + `body of ${u.callId}`.length);
      expect(e.attrs?.inferred).toBeUndefined();
    }
    // One connection per request, each naming its client, and each answered by the unit that read it.
    expect(new Set(reads.map((e) => e.to)).size).toBe(N);
    for (const e of reads) {
      const c = g.nodes.find((n) => n.id === e.to)!;
      expect(c).toMatchObject({ client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      const answer = g.nodes.find((n) => n.type === 'Connection' && n.flow === 'toClient' && c.type === 'Connection' && n.pid === c.pid && n.fd === c.fd && n.opened === c.opened)!;
      expect(g.edges).toContainEqual(expect.objectContaining({ type: 'WAS_GENERATED_BY', from: answer.id, to: e.from }));
    }
  }, 180000);
});
