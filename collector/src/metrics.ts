/** Collector counters, by outcome (a fixed set of values). */
export class CollectorMetrics {
  batches = { stored: 0, duplicate: 0, invalid: 0 };
  nodes = 0;
  edges = 0;
  chainBreaks = 0;
  unauthorized = 0;
}
