import type { Batch } from '@faasprov/model';
import type { BatchExporter } from './exporter.js';

/** Sends batches one at a time, in sequence order, and remembers the first failure. */
export class Shipper {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  acked = 0;
  sent = 0;

  constructor(private readonly exporter: BatchExporter) {}

  enqueue(batch: Batch): void {
    this.sent++;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.exporter.export(batch);
        this.acked++;
      } catch (err) {
        this.failure = err as Error;
      }
    });
  }

  /** Waits until every enqueued batch is acknowledged; throws the first failure. */
  async drain(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }
}
