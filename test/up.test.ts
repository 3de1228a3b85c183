import { describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { edgeId, fileId, processId } from '@faasprov/model';
import { FAASPROV, tempDir } from './helpers.js';
import { freePort } from './agent-harness.js';

describe('faasprov up', () => {
  it('refuses to start without agent tokens unless told --no-auth', async () => {
    const dir = tempDir();
    const r = await execa(FAASPROV, ['up', '--store', join(dir, 's.db'), '--port', '0'], { reject: false, timeout: 30000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('must authenticate');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the collector (token required) and the graph service on the embedded store until SIGTERM', async () => {
    const dir = tempDir();
    const port = await freePort();
    const token = 'node-1-token-0123456789abcdef';
    const admin = 'admin-key-0123456789abcdef0123';
    const investigator = 'reader-key-0123456789abcdef012';
    const keysFile = join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify([
      { name: 'root', role: 'admin', tenants: '*', key: admin },
      { name: 'alice', role: 'investigator', tenants: ['team-a'], key: investigator },
    ]));
    const up = execa(FAASPROV, ['up', '--store', join(dir, 's.db'), '--port', String(port), '--agent-token', `node-1=${token}`, '--api-keys', keysFile], { reject: false });
    const asAdmin = { headers: { authorization: `Bearer ${admin}` } };
    try {
      const url = `http://127.0.0.1:${port}`;
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      const p = { id: processId('node-1', 1, 1), type: 'Process', node: 'node-1', pid: 1, start: 1, exe: '/x', argv: [] };
      const f = { id: fileId('node-1', '/f', 0), type: 'File', node: 'node-1', path: '/f', version: 0 };
      const batch = { agent: 'node-1:abc', seq: 0, nodes: [p, f], edges: [{ id: edgeId('USED', p.id, f.id), type: 'USED', from: p.id, to: f.id, firstTime: 1, lastTime: 1, count: 1, bytes: 0 }] };
      const post = (auth: string | undefined, body: unknown) =>
        fetch(`${url}/v1/batches`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body: JSON.stringify(body),
        });
      for (const bad of [undefined, 'Bearer nope', `Bearer ${token}x`, token]) {
        const r = await post(bad, batch);
        expect(r.status).toBe(401);
      }
      const wrong = await post(`Bearer ${token}`, { ...batch, agent: 'node-2:abc' });
      expect(wrong.status).toBe(403);
      expect((await (await fetch(`${url}/api/v1/stats`, asAdmin)).json()) as object).toMatchObject({ nodes: 0, batches: 0 });
      // An agent key cannot read; an investigator key cannot ingest.
      expect((await fetch(`${url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
      expect((await fetch(`${url}/api/v1/nodes`)).status).toBe(401);
      expect((await post(`Bearer ${investigator}`, batch)).status).toBe(403);
      const r = await post(`Bearer ${token}`, batch);
      expect(r.status).toBe(200);
      const stats = (await (await fetch(`${url}/api/v1/stats`, asAdmin)).json()) as { nodes: number; edges: number };
      expect(stats).toMatchObject({ nodes: 2, edges: 1 });
    } finally {
      up.kill('SIGTERM');
      const res = await up;
      expect(res.exitCode).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
