/** Collector counters, by outcome (a fixed set of values). */
export class CollectorMetrics {
  /** forged: well-formed batches carrying what their agent may not write (model/origin.ts). */
  batches = { stored: 0, duplicate: 0, invalid: 0, forged: 0 };
  nodes = 0;
  edges = 0;
  chainBreaks = 0;
  /** Alerts raised by the rules (collector/rules). */
  alerts = 0;
  /** Invocation → invocation links made from spans (stitch.ts). */
  stitched = 0;
  unauthorized = 0;
}

/** A NATS collector's connection and subscription, through outages (nats-consumer.ts). */
export class NatsConsumerMetrics {
  disconnects = 0;
  reconnects = 0;
  /** First batches handled after a lost connection: consumption resumed by itself. */
  resumed = 0;
  /** Subscriptions that ended (consumer or stream gone, pull silent) and were made again. */
  subscriptionsLost = 0;
  resubscribed = 0;
  /** Consumers made again because batches awaited an ack that no redelivery came for. */
  consumersRemade = 0;
}
