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
  process.stderr.write(`faasprov collector: consuming ${o.nats} as ${o.durable} into ${describeStore(o.store)}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await c.stop();
    await store.close();
    const m = c.metrics.batches;
    process.stderr.write(`faasprov collector: stopped; ${m.stored} stored, ${m.duplicate} duplicates, ${m.invalid} invalid\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
