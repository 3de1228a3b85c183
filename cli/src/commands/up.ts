import { buildServer } from '@faasprov/graph-service';
import { fail, openStore } from '../output.js';

export interface UpOptions {
  store: string;
  host: string;
  port: number;
}

/** faasprov up: the collector and the graph service on the embedded store, until a signal. */
export async function upCommand(o: UpOptions): Promise<void> {
  const store = openStore(o.store);
  const app = await buildServer({ store, collector: true, logger: true });
  try {
    const url = await app.listen({ host: o.host, port: o.port });
    process.stderr.write(`faasprov: collector and graph service on ${url} (store ${o.store})\n`);
  } catch (err) {
    store.close();
    fail(err);
  }
  const stop = async () => {
    await app.close();
    store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
