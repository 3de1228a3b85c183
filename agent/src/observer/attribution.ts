import type { FileNode, InvocationNode, ProcessNode, UnitNode } from '@faasprov/model';

/**
 * Which invocation unit a syscall is charged to. The rules, all in one place:
 *
 * 1. A unit belongs to the thread whose begin marker opened it; that thread's syscalls are the
 *    unit's, exactly, until its end marker (from any thread of the process), an exec or the exit.
 * 2. A thread started by a thread that serves a unit inherits the unit, exactly, while it lasts.
 * 3. A begin marker on a thread that still serves another open unit (a missing end marker, or an
 *    event loop switching between requests): the thread serves the new unit from then on, but
 *    its syscalls are charged `inferred` until that unit ends; the older unit stays open.
 *    A begin marker for a call id already open in the process rebinds the thread to it (a
 *    resumed request).
 * 4. A thread serving no unit, in a process with no open unit: the process image, exactly.
 * 5. A thread serving no unit, in a process with open units (a worker pool, the accepting
 *    thread): with one open unit, that unit; with several, the process image; both `inferred`.
 * 6. Except a thread serving no unit that connects to, writes to or reads from the product's
 *    telemetry receiver (an Endpoint marked `role: 'telemetry'`, platform-endpoints.ts): a span
 *    exporter's thread, whose batches hold many invocations' spans: the process image, exactly.
 *
 * Whoever applies these rules counts every `inferred` charge and records it as data.
 */

/** An invocation in progress in one process, as the shim's markers announce it. */
export interface ActiveUnit {
  node: UnitNode;
  invocation: InvocationNode;
  /** The thread whose begin marker opened it. */
  tid: number;
  /** Invocations this process image had finished when this one began (a cold start claims none). */
  servedBefore: number;
  /** Files on ephemeral volumes this unit made: checked when the invocation ends. */
  ephemeral: Map<string, { node: FileNode; path: string }>;
}

/** The outcome of the rules for one syscall: a unit (or the process image when absent), and how sure. */
export interface Charge {
  unit?: ActiveUnit;
  inferred: boolean;
}

/** A thread's unit; replaced, never changed, so charge() hands it out as it is. */
interface Binding {
  readonly unit: ActiveUnit;
  readonly inferred: boolean;
}

const UNCHARGED: Readonly<Charge> = Object.freeze({ inferred: false });

/** One process's open units and which thread serves which. */
export class ProcessUnits {
  /** Open units by call id. */
  private readonly open = new Map<string, ActiveUnit>();
  private readonly threads = new Map<number, Binding>();

  get size(): number {
    return this.open.size;
  }

  units(): ActiveUnit[] {
    return [...this.open.values()];
  }

  /** Rules 1, 2, 4, 5: the unit a syscall of thread tid is charged to (read-only: the binding itself, no copy per syscall). */
  charge(tid: number): Readonly<Charge> {
    const b = this.threads.get(tid);
    if (b) return b;
    if (this.open.size === 0) return UNCHARGED;
    if (this.open.size === 1) return { unit: this.open.values().next().value!, inferred: true };
    return { inferred: true };
  }

  /** Whether thread tid serves a unit (rules 1-3), rather than being charged by rule 4 or 5. */
  serves(tid: number): boolean {
    return this.threads.has(tid);
  }

  /** The open unit of a call id, if any. */
  get(callId: string): ActiveUnit | undefined {
    return this.open.get(callId);
  }

  /**
   * Rule 1 and 3: thread tid begins (or resumes) callId. make() builds a new unit when the call
   * id is not open. overlap: the thread was still serving another open unit.
   */
  begin(tid: number, callId: string, make: () => ActiveUnit): { unit: ActiveUnit; created: boolean; overlap: boolean } {
    const before = this.threads.get(tid);
    let unit = this.open.get(callId);
    const created = !unit;
    if (!unit) {
      unit = make();
      this.open.set(callId, unit);
    }
    const overlap = before !== undefined && before.unit !== unit;
    this.threads.set(tid, { unit, inferred: overlap || (before?.unit === unit && before.inferred) });
    return { unit, created, overlap };
  }

  /** An end marker: the unit of callId ends, and every thread serving it serves none. */
  end(callId: string): ActiveUnit | undefined {
    const unit = this.open.get(callId);
    if (!unit) return undefined;
    this.open.delete(callId);
    for (const [tid, b] of this.threads) if (b.unit === unit) this.threads.delete(tid);
    return unit;
  }

  /** Rule 2: a new thread serves what its creator serves (and nothing if the creator serves nothing). */
  thread(creator: number, child: number): void {
    const b = this.threads.get(creator);
    if (b) this.threads.set(child, { ...b });
    else this.threads.delete(child);
  }

  /** exec or exit: every open unit ends. */
  endAll(): ActiveUnit[] {
    const all = this.units();
    this.open.clear();
    this.threads.clear();
    return all;
  }
}

/** How long after a caller's connect the called instance's invocation may begin (µs). */
export const CALL_WINDOW_US = 2_000_000;

/**
 * Callers without a template (no markers, no spans): a process serving no invocation connects to
 * an address of another instance's own network namespace; the next invocation that instance
 * begins within CALL_WINDOW_US is linked to that process, `inferred`: first connect, first
 * invocation (each connect is used once). Instances that share the node's namespace have no
 * address of their own and are never linked this way.
 */
export class UninstrumentedCalls {
  private readonly instanceOf = new Map<string, string>();
  private readonly pending = new Map<string, { caller: ProcessNode | UnitNode; t: number }[]>();

  /** The instance whose own network namespace has this address, if any. */
  instanceAt(address: string): string | undefined {
    return this.instanceOf.get(address);
  }

  /** An instance's own address. */
  serve(address: string, instance: string): void {
    this.instanceOf.set(address, instance);
    if (this.instanceOf.size > 10000) this.instanceOf.delete(this.instanceOf.keys().next().value!);
  }

  /** A connect by a process serving no invocation (from: the caller's own instance). */
  connect(address: string, from: string | undefined, caller: ProcessNode | UnitNode, t: number): void {
    const to = this.instanceOf.get(address);
    if (!to || to === from) return;
    const q = (this.pending.get(to) ?? []).filter((c) => t - c.t <= CALL_WINDOW_US).slice(-63);
    q.push({ caller, t });
    this.pending.set(to, q);
  }

  /** The caller of an invocation the instance begins at t, if a connect to it came just before. */
  take(instance: string, t: number): ProcessNode | UnitNode | undefined {
    const q = this.pending.get(instance);
    if (!q) return undefined;
    while (q.length > 0 && t - q[0]!.t > CALL_WINDOW_US) q.shift();
    const c = q[0] && q[0].t <= t ? q.shift() : undefined;
    if (q.length === 0) this.pending.delete(instance);
    return c?.caller;
  }
}
