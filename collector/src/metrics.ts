/** Collector counters, by outcome (a fixed set of values). */
export class CollectorMetrics {
  batches = { stored: 0, duplicate: 0, invalid: 0 };
  nodes = 0;
  edges = 0;
  chainBreaks = 0;
  /** Alerts raised by the rules (collector/rules). */
  alerts = 0;
  unauthorized = 0;
}
