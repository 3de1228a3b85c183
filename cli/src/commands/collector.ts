import { createServer, type Server } from 'node:http';
import { NatsCollector } from '@faasprov/collector';
import { describeStore } from '@faasprov/store';
import { fail, openStore } from '../output.js';
import { rulesOf } from './up.js';

export interface CollectorCliOptions {
  nats: string;
  store: string;
  durable: string;
  natsUser?: string;
  natsPassword?: string;
  rules: string | false;
  metrics: string;
}

/** GET /metrics: the same counters as the HTTP collector's /v1/collector/metrics, plus the NATS connection's. */
async function serveMetrics(at: string, c: NatsCollector): Promise<Server | undefined> {
  if (at === 'off') return undefined;
  const m = /^(.+):(\d+)$/.exec(at);
  if (!m) fail(new Error(`--metrics: expected HOST:PORT or off, got ${JSON.stringify(at)}`));
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...c.metrics, nats: c.nats }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), m[1], () => resolve());
  }).catch((err: Error) => fail(new Error(`--metrics: cannot listen on ${at}: ${err.message}`)));
  return server;
}

/** faasprov collector --nats URL: one of any number of collectors sharing one durable consumer. */
export async function collectorCommand(o: CollectorCliOptions): Promise<void> {
  const rules = rulesOf(o.rules);
  const store = await openStore(o.store);
  const c = new NatsCollector({
    rules,
    url: o.nats,
    store,
    durable: o.durable,
    user: o.natsUser,
    pass: o.natsPassword,
    log: (m) => process.stderr.write(`faasprov collector: ${m}\n`),
  });
  try {
    await c.start();
  } catch (err) {
    await store.close();
    fail(new Error(`cannot consume from NATS at ${o.nats}: ${(err as Error).message}`));
  }
  const server = await serveMetrics(o.metrics, c);
  const where = server ? `; metrics on http://${o.metrics}/metrics` : '';
  process.stderr.write(`faasprov collector: consuming ${o.nats} as ${o.durable} into ${describeStore(o.store)}${where}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server?.close();
    await c.stop();
    await store.close();
    const m = c.metrics.batches;
    process.stderr.write(`faasprov collector: stopped; ${m.stored} stored, ${m.duplicate} duplicates, ${m.invalid} invalid\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
