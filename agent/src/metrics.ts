import { Counter, Gauge, Registry } from 'prom-client';

/** The agent's Prometheus metrics: one registry, names prefixed by stage, fixed label values. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly rawSyscalls = new Gauge({ name: 'faasprov_agent_raw_syscalls', help: 'Syscalls of tracked processes counted in the kernel (only with --count-raw)', registers: [this.registry] });
  /** Events seen since the last scrape, by kind: a labelled inc() per event costs as much as parsing the event. */
  private readonly seenSinceScrape = new Map<string, number>();
  readonly eventsSeen: Counter<'kind'> = new Counter({
    name: 'faasprov_agent_events_seen_total',
    help: 'Events printed by the kernel program and parsed',
    labelNames: ['kind'],
    registers: [this.registry],
    collect: () => {
      for (const [kind, n] of this.seenSinceScrape) this.eventsSeen.inc({ kind }, n);
      this.seenSinceScrape.clear();
    },
  });

  /** Counts one parsed event (added to eventsSeen when it is read). */
  seen(kind: string): void {
    this.seenSinceScrape.set(kind, (this.seenSinceScrape.get(kind) ?? 0) + 1);
  }

  readonly eventsReduced = new Counter({ name: 'faasprov_agent_events_reduced_total', help: 'Reads and writes counted in the kernel instead of printed', registers: [this.registry] });
  readonly edgesSent = new Counter({ name: 'faasprov_agent_edge_events_spooled_total', help: 'Operations (edge counts) in batches written to the spool', registers: [this.registry] });
  readonly eventsLost = new Counter({ name: 'faasprov_agent_events_lost_total', help: 'Events lost, by cause (each loss is also a Gap node)', labelNames: ['cause'], registers: [this.registry] });
  readonly batchesSpooled = new Counter({ name: 'faasprov_agent_batches_spooled_total', help: 'Batches written to the spool', registers: [this.registry] });
  readonly batchesAcked = new Counter({ name: 'faasprov_agent_batches_acked_total', help: 'Batches acknowledged by the collector after its commit', registers: [this.registry] });
  readonly batchesRejected = new Counter({ name: 'faasprov_agent_batches_rejected_total', help: 'Batches the collector refused for good', registers: [this.registry] });
  readonly shipRetries = new Counter({ name: 'faasprov_agent_ship_retries_total', help: 'Failed delivery attempts that will be retried', registers: [this.registry] });
  readonly spoolBytes = new Gauge({ name: 'faasprov_agent_spool_bytes', help: 'Bytes of unacknowledged batches on disk', registers: [this.registry] });
  readonly spoolPending = new Gauge({ name: 'faasprov_agent_spool_pending_batches', help: 'Batches waiting for acknowledgement', registers: [this.registry] });
  readonly attributionInferred = new Gauge({ name: 'faasprov_agent_attribution_inferred', help: 'Operations charged to a unit or process by inference since the agent started (edges marked inferred; also attribution-inferred Gaps)', registers: [this.registry] });
  readonly spansReceived = new Counter({ name: 'faasprov_agent_spans_received_total', help: 'Spans the OTLP receiver accepted', registers: [this.registry] });
  readonly instanceFactsUnread = new Counter({ name: 'faasprov_agent_instance_facts_unread_total', help: 'Instances whose root had exited before the agent read its /proc facts (the Instance says factsUnread)', registers: [this.registry] });
  readonly instanceNamedFromExec = new Counter({ name: 'faasprov_agent_instance_named_from_exec_total', help: 'Of those, instances whose function name was read from the environment the kernel copied at the exec (the Instance says envFrom)', registers: [this.registry] });
  readonly sensorRestarts = new Counter({ name: 'faasprov_agent_sensor_restarts_total', help: 'bpftrace restarts after an unexpected exit', registers: [this.registry] });
}
