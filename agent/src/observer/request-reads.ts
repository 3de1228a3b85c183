import type { ConnectionNode } from '@faasprov/model';

/**
 * Request bytes read before the begin marker. A server accepts a connection (on the thread that
 * will serve it, or on an accepting thread that hands it to a new one), a thread reads the request
 * on it, then the shim on that thread writes the begin marker: the read belongs to the unit that
 * thread then begins, not to the process image nor, by inference, to another thread's open unit.
 * (The accept itself makes no edge: the connection is an entity of its own, connections.ts.)
 * The observer holds such a read per thread and:
 * - gives it to the unit the same thread begins within REQUEST_READ_WAIT_US (counted:
 *   requestReadsClaimed);
 * - otherwise charges it by the usual rules (attribution.ts) when the thread reads another socket,
 *   the socket's counters or close arrive, the image execs or exits, a batch is cut more than
 *   REQUEST_READ_WAIT_US after it, or capture stops. Nothing is held past a batch cut that old.
 */
export interface PendingRead {
  /** t<tid>: one per thread. */
  key: string;
  tid: number;
  gen: number;
  fd: number;
  /** First read (µs) and its bytes (the kernel reports later reads as counters). */
  t: number;
  bytes: number;
  /** What the client sent on the connection (its toServer direction). */
  entity: ConnectionNode;
}

/** How long a read waits for its thread's begin marker (µs of event time). */
export const REQUEST_READ_WAIT_US = 1_000_000;
