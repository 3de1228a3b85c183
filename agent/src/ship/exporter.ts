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

  /** One attempt with a raw body (the spool's exact bytes); the collector reads agent and seq from the body itself. */
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

  /** Delivers one batch, retrying what may succeed later until the deadline. */
  async export(batch: Batch): Promise<void> {
    const deadline = Date.now() + (this.opts.deadlineMs ?? 60000);
    const body = JSON.stringify(batch);
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      const r = await this.send(body);
      if (r.ok) return;
      if (!r.retry) throw AgentErrors.FP_ERR_SHIP(`collector refused batch ${batch.agent}#${batch.seq}: ${r.why}`);
      if (Date.now() + delay > deadline) throw AgentErrors.FP_ERR_SHIP(`${r.why} (gave up after retries)`);
      this.retries++;
      await new Promise((res) => setTimeout(res, delay));
    }
  }
}
