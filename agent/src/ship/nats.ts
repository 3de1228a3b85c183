import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { BATCH_STREAM, batchMessageId, batchSubject } from '@faasprov/model';
import type { Attempt, BatchHead, RawBatchSender } from './spool-shipper.js';

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const HEADER_ROOM = 4096;
const TOO_BIG = /max_payload|maximum (message|payload) size|message size exceeds/i;

/**
 * Publishes spooled batches to JetStream with message id agent:seq. The publish is acknowledged
 * once the stream has stored the batch; the spool lets it go only then. Until a collector has
 * created the stream, publishes fail and are retried.
 */
export class NatsBatchSender implements RawBatchSender {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  duplicates = 0;

  constructor(private readonly url: string, private readonly opts: { user?: string; pass?: string; token?: string } = {}) {}

  private async connection(): Promise<JetStreamClient> {
    if (this.js && this.nc && !this.nc.isClosed()) return this.js;
    this.nc = await connect({
      servers: this.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(this.opts.user ? { user: this.opts.user, pass: this.opts.pass } : {}),
      ...(this.opts.token ? { token: this.opts.token } : {}),
    });
    this.js = jetstream(this.nc, { timeout: 10000 });
    return this.js;
  }

  /**
   * Room for a batch in one message: the server's max_payload (read from the connection's INFO;
   * NATS's default of 1 MiB until connected), less room for the headers (message id, stream).
   */
  maxBodyBytes(): number {
    return (this.nc?.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM;
  }

  /** The subject and the message id come from the spool's head, so a batch is not parsed again here (the collector validates it). */
  async send(body: string, head: BatchHead): Promise<Attempt> {
    try {
      const js = await this.connection();
      const ack = await js.publish(batchSubject(head.agent), body, { msgID: batchMessageId(head.agent, head.seq), expect: { streamName: BATCH_STREAM.name } });
      if (ack.duplicate) this.duplicates++;
      return { ok: true };
    } catch (err) {
      const why = (err as Error).message;
      // Too big for the server or the stream: no retry makes it fit, and it must not hold up the batches behind it.
      if (TOO_BIG.test(why)) return { ok: false, retry: false, why: `${why} (${Buffer.byteLength(body)} bytes; max_payload ${this.nc?.info?.max_payload ?? 'unknown'})` };
      return { ok: false, retry: true, why };
    }
  }

  async close(): Promise<void> {
    await this.nc?.drain().catch(() => undefined);
  }
}
