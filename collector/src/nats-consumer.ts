import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { BATCH_STREAM, FaasprovError } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';
import { applyBatch } from './apply.js';
import { ensureStream } from './stream.js';
import { CollectorMetrics, NatsConsumerMetrics } from './metrics.js';
import type { RuleEngine } from './rules/engine.js';

const STREAM = BATCH_STREAM.name;
export const DEFAULT_DURABLE = 'faasprov-collector';
/** Batches a collector applies at once by default. */
export const DEFAULT_CONCURRENCY = 4;

/**
 * Missed idle heartbeats (15 s apart) while connected before the subscription is made again: the
 * client re-pulls after each miss by itself; this many means the pull is not coming back.
 */
const HEARTBEATS_BEFORE_RESUBSCRIBE = 4;
const ACK_WAIT_MS = 30000;
/** Ack waits without progress, with batches awaiting an ack and none in flight here, before the consumer is made again. */
const STALLED_ACK_WAITS = 3;

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
  /** Longest wait between two attempts to subscribe again. */
  maxResubscribeDelayMs?: number;
  /** How often the consumer's progress is checked (default: its ack wait, 30 s). */
  stallCheckMs?: number;
  log?: (msg: string) => void;
}

/**
 * A collector that pulls from JetStream: any number share one durable consumer. A batch is
 * acknowledged only after its store commit; a store failure naks it (delivered again later);
 * an invalid batch is terminated and counted, never retried.
 *
 * It outlives NATS outages: the connection reconnects without end, and whenever the consume
 * iterator ends or its consumer or stream is gone (a nats-server that came back without its
 * store), the stream and the durable consumer are made again and consuming starts over.
 */
export class NatsCollector {
  readonly metrics = new CollectorMetrics();
  readonly nats = new NatsConsumerMetrics();
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Why the current subscription was ended by us (consumer gone, heartbeats missed). */
  private endedBecause: string | undefined;
  /** When the connection was lost, until the first batch after it is handled. */
  private outageSince: number | undefined;
  private wakeUp: (() => void) | undefined;
  private inflight = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private progress = { key: '', since: 0 };
  storeErrors = 0;

  constructor(private readonly o: NatsCollectorOptions) {}

  private log(msg: string): void {
    (this.o.log ?? (() => undefined))(msg);
  }

  async start(): Promise<void> {
    this.nc = await connect({
      servers: this.o.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(this.o.user ? { user: this.o.user, pass: this.o.pass } : {}),
      ...(this.o.token ? { token: this.o.token } : {}),
    });
    void this.watchConnection(this.nc);
    const first = await this.subscribe();
    this.loop = this.supervise(first);
    const every = this.o.stallCheckMs ?? ACK_WAIT_MS;
    this.stallTimer = setInterval(() => void this.checkStall(every).catch(() => undefined), every);
  }

  /**
   * After a kill -9 of nats-server 2.9, a batch delivered before it can stay "awaiting an ack"
   * and never be delivered again. When the consumer's delivered and ack floor have not moved for
   * STALLED_ACK_WAITS ack waits while batches await an ack and none is in flight here, the
   * consumer is made again: it delivers what the stream still holds, and what was stored
   * already is a duplicate by (agent, seq), acknowledged and dropped.
   */
  private async checkStall(every: number): Promise<void> {
    if (this.stopping || !this.nc || this.nc.isClosed()) return;
    const jsm = await jetstreamManager(this.nc);
    const durable = this.o.durable ?? DEFAULT_DURABLE;
    const c = await jsm.consumers.info(STREAM, durable);
    const key = `${c.delivered.stream_seq}/${c.ack_floor.stream_seq}/${c.num_ack_pending}`;
    if (c.num_ack_pending === 0 || this.inflight > 0 || key !== this.progress.key) {
      this.progress = { key, since: Date.now() };
      return;
    }
    if (Date.now() - this.progress.since < STALLED_ACK_WAITS * every) return;
    this.progress = { key: '', since: Date.now() };
    this.nats.consumersRemade++;
    this.log(`consumer ${durable} stalled: ${c.num_ack_pending} batches awaiting an ack for ${Math.round((STALLED_ACK_WAITS * every) / 1000)} s, none in flight here; making it again (batches already stored are duplicates)`);
    await jsm.consumers.delete(STREAM, durable).catch(() => undefined);
    if (!this.endedBecause) {
      this.endedBecause = `consumer ${durable} made again after a stall`;
      this.messages?.stop();
    }
  }

  /** Makes the stream and the durable consumer when missing (whoever comes first), and consumes. */
  private async subscribe(): Promise<ConsumerMessages> {
    const nc = this.nc!;
    const jsm = await jetstreamManager(nc);
    const durable = this.o.durable ?? DEFAULT_DURABLE;
    await ensureStream(jsm);
    try {
      await jsm.consumers.info(STREAM, durable);
    } catch (err) {
      if (!/consumer not found/i.test((err as Error).message)) throw err;
      await jsm.consumers.add(STREAM, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(30000),
        max_deliver: -1,
        max_ack_pending: 256,
      });
    }
    const consumer = await jetstream(nc).consumers.get(STREAM, durable);
    const messages = await consumer.consume({ max_messages: 64 });
    this.messages = messages;
    this.endedBecause = undefined;
    void this.watchConsumer(messages);
    return messages;
  }

  /** Consumes until stopped; a subscription that ends any other way is made again. */
  private async supervise(first: ConsumerMessages): Promise<void> {
    let messages = first;
    while (!this.stopping) {
      let why: string;
      try {
        await this.run(messages);
        why = this.endedBecause ?? 'the consumer iterator ended';
      } catch (err) {
        why = this.endedBecause ?? (err as Error).message;
      }
      if (this.stopping) return;
      this.nats.subscriptionsLost++;
      this.log(`stopped consuming (${why}); subscribing again`);
      const resumed = await this.resubscribe();
      if (!resumed) return;
      messages = resumed;
      this.nats.resubscribed++;
      this.log(`consuming ${STREAM} again as ${this.o.durable ?? DEFAULT_DURABLE}`);
    }
  }

  private async resubscribe(): Promise<ConsumerMessages | undefined> {
    let lastLog = 0;
    for (let delay = 250; !this.stopping; delay = Math.min(delay * 2, this.o.maxResubscribeDelayMs ?? 5000)) {
      try {
        return await this.subscribe();
      } catch (err) {
        if (Date.now() - lastLog > 10000) {
          lastLog = Date.now();
          this.log(`cannot subscribe yet (${(err as Error).message.split('\n')[0]}); trying again`);
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.wakeUp = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
    return undefined;
  }

  /** Ends a subscription that will not deliver again: its consumer or stream is gone, or the pull stays silent. */
  private async watchConsumer(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      let why: string | undefined;
      if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted') why = `consumer ${this.o.durable ?? DEFAULT_DURABLE} is gone`;
      else if (s.type === 'stream_not_found') why = `stream ${STREAM} is gone`;
      else if (s.type === 'heartbeats_missed' && s.count >= HEARTBEATS_BEFORE_RESUBSCRIBE && !this.nc?.isClosed()) why = `${s.count} heartbeats missed`;
      if (why && !this.endedBecause) {
        this.endedBecause = why;
        messages.stop();
      }
    }
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.nats.disconnects++;
        this.outageSince ??= Date.now();
        this.log(`lost the NATS connection to ${this.o.url}; batches wait in JetStream, reconnecting`);
      } else if (s.type === 'reconnect') {
        this.nats.reconnects++;
        this.log(`reconnected to NATS at ${this.o.url}`);
      }
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    // Several batches in flight: each is self-contained and deduped by (agent, seq), so the
    // order of commits does not matter.
    const inflight = new Set<Promise<void>>();
    try {
      for await (const m of messages) {
        this.inflight++;
        const p = this.handle(m).finally(() => {
          inflight.delete(p);
          this.inflight--;
        });
        inflight.add(p);
        if (inflight.size >= (this.o.concurrency ?? DEFAULT_CONCURRENCY)) await Promise.race(inflight);
      }
    } finally {
      await Promise.all(inflight);
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    if (this.outageSince !== undefined) {
      this.nats.resumed++;
      this.log(`consuming again, ${((Date.now() - this.outageSince) / 1000).toFixed(1)} s after the NATS connection was lost`);
      this.outageSince = undefined;
    }
    let body: unknown;
    try {
      body = JSON.parse(m.string());
    } catch {
      this.metrics.batches.invalid++;
      m.term();
      this.log('dropped a message that is not JSON');
      return;
    }
    try {
      await applyBatch(this.o.store, body, this.metrics, this.o.rules);
      m.ack();
    } catch (err) {
      if (err instanceof FaasprovError && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        m.term();
        this.log(`refused an invalid batch: ${err.message}`);
      } else {
        this.storeErrors++;
        m.nak(this.o.retryDelayMs ?? 2000);
        this.log(`store error, batch will be delivered again: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.stallTimer);
    this.wakeUp?.();
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    await this.nc?.drain().catch(() => undefined);
  }
}
