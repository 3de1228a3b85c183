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
