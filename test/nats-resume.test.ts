import { afterAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiskSpool, NatsBatchSender, SpoolShipper } from '@faasprov/agent';
import { NatsCollector } from '@faasprov/collector';
import { SqliteGraphStore } from '@faasprov/store';
import { freePort, until } from './agent-harness.js';
import { tempDir } from './helpers.js';
import { NatsServer } from './nats-harness.js';
import { recordedWorkload } from './workload.js';

// A collector outlives nats-server: kill -9 and back on the same store, then back without its store.
describe('NATS collector through nats-server restarts', () => {
  const dirs: string[] = [];
  let nats: NatsServer | undefined;
  afterAll(async () => {
    await nats?.kill9();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('resumes by itself, says so, and subscribes anew when the stream is gone', async () => {
    const dir = tempDir('fp-nats-resume-');
    dirs.push(dir);
    nats = new NatsServer(await freePort(), join(dir, 'js-1'));
    await nats.start();
    const store = new SqliteGraphStore(join(dir, 's.db'));
    const said: string[] = [];
    const c = new NatsCollector({ url: nats.url, store, log: (m) => said.push(m), maxResubscribeDelayMs: 1000 });
    await c.start();
    const batches = recordedWorkload('node-r:resume', 'node-r', 5);
    expect(batches.length).toBeGreaterThan(30);
    const spool = new DiskSpool({ dir: join(dir, 'spool'), node: 'node-r' });
    const sender = new NatsBatchSender(nats.url);
    const shipper = new SpoolShipper(spool, sender, { onAck: () => undefined, onReject: () => undefined, onRetry: () => undefined });
    shipper.start();
    const third = Math.floor(batches.length / 3);
    const send = async (from: number, to: number) => {
      for (const b of batches.slice(from, to)) spool.append(b);
      shipper.wake();
      await until(`batches up to ${to} stored`, () => c.metrics.batches.stored === to, 90000);
    };
    try {
      await send(0, third);
      // 1. kill -9, back on the same store: the same subscription goes on after the reconnect.
      await nats.kill9();
      await nats.start();
      await send(third, 2 * third);
      expect(c.nats).toMatchObject({ disconnects: 1, reconnects: 1, resumed: 1 });
      expect(said.join('\n')).toMatch(/consuming again, [\d.]+ s after the NATS connection was lost/);
      // 2. kill -9, back without its store: stream and consumer are gone; the collector makes them again.
      await nats.kill9();
      nats.storeDir = join(dir, 'js-2');
      await nats.start();
      await send(2 * third, batches.length);
      expect(c.nats.subscriptionsLost).toBeGreaterThanOrEqual(1);
      expect(c.nats.resubscribed).toBe(c.nats.subscriptionsLost);
      expect(said.join('\n')).toMatch(/stopped consuming \((stream|consumer) .* is gone\); subscribing again/);
      // Each batch once: JetStream's duplicate window and the store's (agent, seq) key.
      expect(c.metrics.batches.stored).toBe(batches.length);
      process.stdout.write(`nats resume: ${batches.length} batches stored once through 2 nats-server kills; collector ${JSON.stringify(c.nats)}\n`);
    } finally {
      await shipper.drain(1000);
      await sender.close();
      await c.stop();
      await store.close();
    }
  }, 240000);
});
