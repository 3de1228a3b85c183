import type { Batch } from '@faasprov/model';
import { AgentErrors } from '../errors.js';
import type { Attempt, RawBatchSender } from './spool-shipper.js';

/** The one thing an exporter does: deliver a batch and resolve once it is committed. */
export interface BatchExporter {
  export(batch: Batch): Promise<void>;
}

export interface HttpExporterOptions {
  url: string;
  token?: string;
  /** Give up on one batch after this long (ms). */
  deadlineMs?: number;
}

/** POSTs batches to a collector; retries network errors and 5xx with backoff, never 4xx. */
export class HttpBatchExporter implements BatchExporter, RawBatchSender {
  retries = 0;
  constructor(private readonly opts: HttpExporterOptions) {}

  /** One attempt with a raw body (the spool's exact bytes). */
  async send(body: string): Promise<Attempt> {
    try {
      const res = await fetch(new URL('/v1/batches', this.opts.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        body,
        signal: AbortSignal.timeout(30000),
      });
      const text = await res.text();
      if (res.ok) return { ok: true };
      // Auth problems are configuration: keep the batch and retry until fixed.
      const retry = res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 429;
      return { ok: false, retry, status: res.status, why: `HTTP ${res.status} ${text.slice(0, 300)}` };
    } catch (err) {
      return { ok: false, retry: true, why: (err as Error).message };
    }
  }

  async export(batch: Batch): Promise<void> {
    const deadline = Date.now() + (this.opts.deadlineMs ?? 60000);
    let delay = 50;
    const body = JSON.stringify(batch);
    for (;;) {
      let why: string;
      try {
        const res = await fetch(new URL('/v1/batches', this.opts.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
          },
          body,
        });
        const text = await res.text();
        if (res.ok) return;
        if (res.status >= 400 && res.status < 500) {
          throw AgentErrors.FP_ERR_SHIP(`collector refused batch ${batch.agent}#${batch.seq}: HTTP ${res.status} ${text.slice(0, 500)}`);
        }
        why = `HTTP ${res.status}`;
      } catch (err) {
        if ((err as { code?: string }).code === 'FP_ERR_SHIP') throw err;
        why = (err as Error).message;
      }
      if (Date.now() + delay > deadline) throw AgentErrors.FP_ERR_SHIP(`${why} (gave up after retries)`);
      this.retries++;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
