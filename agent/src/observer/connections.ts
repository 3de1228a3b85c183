import { connectionId, type ConnectionNode, type EndpointNode } from '@faasprov/model';

/**
 * Connections as entities of their own (the rules, all in one place):
 *
 * 1. An accepted connection is two `Connection` entities, one per direction: what the client sent
 *    (`toServer`: the server reads it, the client writes it) and what the server sent (`toClient`).
 *    A server's reads and writes on it never meet at its listening address, and on a kept-alive
 *    connection request 2 never reads what response 1 wrote (they are different directions).
 * 2. A connect to a server that listens on this node in the same instance (loopback, or an
 *    address of the instance's own network namespace), or in the instance that owns the address,
 *    makes both directions at once; the server's next accept on that address takes the oldest
 *    such connect (the kernel's accept queue is first come, first served). When several connects
 *    wait, the match is by order alone: the entities say `matchInferred` and it is counted.
 *    A connect no accept takes (a server we do not watch) keeps its entities, client side only.
 * 3. A relay: a process image (no invocation unit) that reads a request on an accepted connection
 *    and then writes on a connection it made (of-watchdog proxying to the function). The write
 *    forwards the oldest request it read and had not forwarded: the outbound request
 *    `WAS_DERIVED_FROM` the inbound one, and the response it reads back and writes to the
 *    inbound connection derives the other way. Forwarded bytes are not generations of the relay
 *    process, so a long-lived proxy does not join every request to every other. Several waiting
 *    requests: derived by order alone, `inferred`, counted.
 */

/** Both directions of one connection, and what a relay paired it with. */
export interface Conn {
  toServer: ConnectionNode;
  toClient: ConnectionNode;
  /** A relay's outbound connection: the inbound one whose request it forwards now. */
  forwards?: Conn;
  /** A relay's inbound connection: the outbound one its response comes from. */
  answeredBy?: Conn;
  /** The last direction each end moved data in (a write after a read starts a new request). */
  clientLast?: 'read' | 'write';
  serverLast?: 'read' | 'write';
}

/** How long a connect waits for the server's accept (µs of event time). */
export const ACCEPT_WAIT_US = 2_000_000;
const MAX_WAITING = 64;

/** address:port, IPv6 in brackets. */
export function hostPort(ep: { address: string; port: number }): string {
  return ep.address.includes(':') && !ep.address.startsWith('unix:') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

const WILDCARD = new Set(['0.0.0.0', '::']);

interface Waiting {
  conn: Conn;
  address: string;
  t: number;
}

/** Listening sockets and connects waiting for their accept, per instance (one network namespace each). */
export class Connections {
  /** instance → port → addresses bound. */
  private readonly listeners = new Map<string, Map<number, Set<string>>>();
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(private readonly node: string) {}

  /** Both directions of a new connection, first seen by pid's fd at time opened. */
  make(pid: number, fd: number, opened: number, server: EndpointNode | undefined, tenant?: string, client?: string): Conn {
    const one = (flow: 'toServer' | 'toClient'): ConnectionNode => {
      const n: ConnectionNode = { id: connectionId(this.node, pid, fd, opened, flow), type: 'Connection', node: this.node, pid, fd, opened, flow };
      if (server) n.server = hostPort(server);
      if (client) n.client = client;
      if (tenant) n.tenant = tenant;
      return n;
    };
    return { toServer: one('toServer'), toClient: one('toClient') };
  }

  /** A socket bound (or accepted on) in an instance: connects to it may be accepted there. */
  listen(instance: string, ep: EndpointNode): void {
    let ports = this.listeners.get(instance);
    if (!ports) {
      if (this.listeners.size > 10000) this.listeners.delete(this.listeners.keys().next().value!);
      this.listeners.set(instance, (ports = new Map()));
    }
    let addrs = ports.get(ep.port);
    if (!addrs) ports.set(ep.port, (addrs = new Set()));
    if (addrs.size < 16) addrs.add(ep.address);
  }

  /** Whether a server in instance listens where a connect to address:port arrives. */
  private serves(instance: string, address: string, port: number, local: boolean): boolean {
    const addrs = this.listeners.get(instance)?.get(port);
    if (!addrs) return false;
    if (addrs.has(address)) return true;
    return local && [...addrs].some((a) => WILDCARD.has(a));
  }

  /**
   * Rule 2: a connect from instance `from` to ep. target is the instance that owns ep's address
   * (undefined: loopback or unknown, then the caller's own). Returns the connection when a
   * watched server will accept it, else undefined (the endpoint alone stands for the peer).
   */
  connect(from: string | undefined, target: string | undefined, ep: EndpointNode, make: () => Conn, t: number): Conn | undefined {
    const instance = target ?? from;
    if (instance === undefined) return undefined;
    const local = target !== undefined || ep.address.startsWith('127.') || ep.address === '::1' || WILDCARD.has(ep.address);
    if (!this.serves(instance, ep.address, ep.port, local)) return undefined;
    const key = `${instance}\0${ep.port}`;
    const q = (this.waiting.get(key) ?? []).filter((w) => t - w.t <= ACCEPT_WAIT_US).slice(-(MAX_WAITING - 1));
    const conn = make();
    q.push({ conn, address: ep.address, t });
    this.waiting.set(key, q);
    return conn;
  }

  /** Rule 2: the connect an accept on listening endpoint ep (in instance) takes, if one waits. */
  accept(instance: string | undefined, ep: EndpointNode, t: number): { conn?: Conn; inferred: boolean } {
    if (instance === undefined) return { inferred: false };
    const key = `${instance}\0${ep.port}`;
    const q = this.waiting.get(key);
    if (!q) return { inferred: false };
    while (q.length > 0 && t - q[0]!.t > ACCEPT_WAIT_US) q.shift();
    const i = q.findIndex((w) => w.t <= t && (w.address === ep.address || WILDCARD.has(ep.address) || ep.address === ''));
    const inferred = q.filter((w) => w.t <= t).length > 1;
    const w = i >= 0 ? q.splice(i, 1)[0] : undefined;
    if (q.length === 0) this.waiting.delete(key);
    return { conn: w?.conn, inferred: w !== undefined && inferred };
  }
}

/**
 * Rule 3, per relay process: the requests it read on accepted connections and has not forwarded
 * yet, oldest first (bounded: a process that reads requests and forwards none is no relay).
 */
export class RelayQueue {
  private readonly pending: Conn[] = [];

  /** A new request read on an accepted connection by the process image. */
  read(c: Conn): void {
    if (this.pending.includes(c)) return;
    if (this.pending.length >= MAX_WAITING) this.pending.shift();
    this.pending.push(c);
  }

  /** The request a write on outbound connection out forwards: by order, inferred when several wait. */
  forward(out: Conn): { from: Conn; inferred: boolean } | undefined {
    // A write that continues the same request (no read on out since its last write) keeps its pairing.
    if (out.clientLast === 'write' && out.forwards) return { from: out.forwards, inferred: false };
    const inferred = this.pending.length > 1;
    const from = this.pending.shift();
    if (!from) return undefined;
    out.forwards = from;
    from.answeredBy = out;
    return { from, inferred };
  }

  /** A connection closed: its request can no longer be forwarded. */
  drop(c: Conn): void {
    const i = this.pending.indexOf(c);
    if (i >= 0) this.pending.splice(i, 1);
  }
}
