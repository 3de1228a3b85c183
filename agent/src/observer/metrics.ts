/** What the observer saw and could not attribute; printed in the capture summary. */
export class ObserverStats {
  readonly byKind: Record<string, number> = {};
  unknownProcess = 0;
  unattributed = 0;
  unresolvedDirfd = 0;
  ignoredSockets = 0;
  untrackedTarget = 0;
  accepted = 0;
  /** Accepts matched to a connect, or relayed requests to the request they forward, by order alone among several (connections.ts). */
  connectionsInferred = 0;
  /** Requests a relay (of-watchdog) forwarded, linked inbound to outbound (connections.ts). */
  relayedRequests = 0;
  gaps = 0;
  /** An end marker without its begin, or a begin while another invocation was open. */
  markerMismatch = 0;
  /** Operations charged by inference (attribution.ts, rules 3 and 5): their edges say `inferred`. */
  inferredCharges = 0;
  /** Invocations linked by a connection's address and timing to a caller without a template. */
  inferredCallers = 0;
  /** Request bytes read before a begin marker, given to the unit the same thread then began (request-reads.ts). */
  requestReadsClaimed = 0;
  /** Begin markers on a thread that still served another open invocation. */
  threadOverlaps = 0;
  /** Read-only opens of the C library's locale and loader caches, which make no edge (host.ts). */
  opensQuiet = 0;
  /** Failed opens the kernel reported (a prefix matched) that no sensitive glob matches. */
  attemptsIgnored = 0;
  /** GPU calls on device addresses no allocation in capture covers. */
  gpuUnknownBuffer = 0;
  /** Byte ranges of a GPU buffer merged over the per-buffer cap: their versions are then all taken as the source of either range. */
  gpuRangesMerged = 0;
  /** Instances whose root had exited before the agent read its /proc facts (Instance.factsUnread). */
  instanceFactsUnread = 0;
  /** Of those, the instances whose function name was read from the environment the kernel copied at the root's exec (Instance.envFrom). */
  instanceNamedFromExec = 0;

  seen(kind: string): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }

  get events(): number {
    return Object.values(this.byKind).reduce((a, b) => a + b, 0);
  }
}
