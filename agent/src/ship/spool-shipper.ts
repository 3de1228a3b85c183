import type { DiskSpool, PendingBatch } from './spool.js';

export type Attempt = { ok: true } | { ok: false; retry: boolean; why: string; status?: number };

/** Which batch a raw body is: the spool's agent id and the batch's seq (the body is not parsed again to find them). */
export interface BatchHead {
  agent: string;
  seq: number;
}

/** Sends one raw batch body; says whether a failure is worth retrying. */
export interface RawBatchSender {
  send(body: string, head: BatchHead): Promise<Attempt>;
  /** The largest body the transport takes, when it says (NATS: the server's max_payload). */
  maxBodyBytes?(): number;
}

export interface ShipperHooks {
  onAck(p: PendingBatch): void;
  /** The collector refused the batch for good (4xx other than auth): it is dropped, and counted. */
  onReject(p: PendingBatch, why: string): void;
  onRetry(why: string, status?: number): void;
}

/**
 * Ships the spool in sequence order, one batch at a time, until stopped: the next batch goes
 * only after the previous one was acknowledged (committed) or refused for good. Network errors,
 * 5xx and auth errors are retried with capped backoff: the spool holds the batches meanwhile.
 */
export class SpoolShipper {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly spool: DiskSpool, private readonly sender: RawBatchSender, private readonly hooks: ShipperHooks) {}

  start(): void {
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let delay = 100;
    while (!this.stopped) {
      const next = this.spool.peek();
      if (!next) {
        await this.sleep(1000);
        continue;
      }
      const r = await this.sender.send(next.body, { agent: this.spool.agent, seq: next.seq });
      if (r.ok) {
        this.spool.ack(next.seq);
        this.hooks.onAck(next);
        delay = 100;
      } else if (!r.retry) {
        this.spool.ack(next.seq);
        this.hooks.onReject(next, r.why);
      } else {
        this.hooks.onRetry(r.why, r.status);
        await this.sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** Waits until the spool is empty or the time is up; then stops. */
  async drain(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.spool.peek() && Date.now() < end) {
      this.wake();
      await new Promise((r) => setTimeout(r, 50));
    }
    const empty = !this.spool.peek();
    this.stopped = true;
    this.wake();
    await this.loop;
    return empty;
  }
}
