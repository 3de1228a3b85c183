import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { BATCH_STREAM, FaasprovError } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { applyBatch } from './apply.js';
import { ensureStream } from './stream.js';
import { CollectorMetrics } from './metrics.js';
import type { RuleEngine } from './rules/engine.js';

const STREAM = BATCH_STREAM.name;
export const DEFAULT_DURABLE = 'faasprov-collector';

export interface NatsCollectorOptions {
  url: string;
  store: GraphStore;
  /** Rules evaluated on every new batch; alerts commit with it. */
  rules?: RuleEngine;
  durable?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Batches applied at once by this collector. */
  concurrency?: number;
  /** Wait before a batch whose store commit failed is delivered again. */
  retryDelayMs?: number;
  log?: (msg: string) => void;
}

/**
 * A collector that pulls from JetStream: any number share one durable consumer. A batch is
 * acknowledged only after its store commit; a store failure naks it (delivered again later);
 * an invalid batch is terminated and counted, never retried.
 */
export class NatsCollector {
  readonly metrics = new CollectorMetrics();
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  storeErrors = 0;

  constructor(private readonly o: NatsCollectorOptions) {}

  async start(): Promise<void> {
    this.nc = await connect({
      servers: this.o.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(this.o.user ? { user: this.o.user, pass: this.o.pass } : {}),
      ...(this.o.token ? { token: this.o.token } : {}),
    });
    const jsm = await jetstreamManager(this.nc);
    const durable = this.o.durable ?? DEFAULT_DURABLE;
    // The stream is made by whoever comes first (agent or collector), with the same settings.
    await ensureStream(jsm);
    try {
      await jsm.consumers.info(STREAM, durable);
    } catch {
      await jsm.consumers.add(STREAM, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(30000),
        max_deliver: -1,
        max_ack_pending: 256,
      });
    }
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(STREAM, durable);
    this.messages = await consumer.consume({ max_messages: 64 });
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    // Several batches in flight: each is self-contained and deduped by (agent, seq), so the
    // order of commits does not matter.
    const inflight = new Set<Promise<void>>();
    for await (const m of messages) {
      const p = this.handle(m).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= (this.o.concurrency ?? 4)) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  }

  private async handle(m: JsMsg): Promise<void> {
    const log = this.o.log ?? (() => undefined);
    let body: unknown;
    try {
      body = JSON.parse(m.string());
    } catch {
      this.metrics.batches.invalid++;
      m.term();
      log('dropped a message that is not JSON');
      return;
    }
    try {
      await applyBatch(this.o.store, body, this.metrics, this.o.rules);
      m.ack();
    } catch (err) {
      if (err instanceof FaasprovError && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        m.term();
        log(`refused an invalid batch: ${err.message}`);
      } else {
        this.storeErrors++;
        m.nak(this.o.retryDelayMs ?? 2000);
        log(`store error, batch will be delivered again: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    await this.nc?.drain().catch(() => undefined);
  }
}
