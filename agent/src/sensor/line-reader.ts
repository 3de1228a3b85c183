import { ParseError } from './parse-error.js';

const TAB = 9;
const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const SLASH = 47;

/**
 * Reads the tab-separated fields of one bpftrace line in place: no split, no regular expression,
 * no substring for a number. The agent parses every printed event here, so this is per-event cost.
 */
export class LineReader {
  private pos: number;

  /** Starts after the two-character tag ("R\t"). */
  constructor(readonly line: string) {
    this.pos = 2;
  }

  private end(): number {
    const j = this.line.indexOf('\t', this.pos);
    return j < 0 ? this.line.length : j;
  }

  private fail(why: string): never {
    throw new ParseError(this.line, why);
  }

  /** Moves past the tab after a field, or to the end of the line. */
  private skip(to: number): void {
    this.pos = to + 1;
  }

  /** A decimal integer field (optionally negative). */
  int(): number {
    const s = this.line;
    const to = this.end();
    let i = this.pos;
    const neg = s.charCodeAt(i) === MINUS;
    if (neg) i++;
    if (i >= to || this.pos > s.length) this.fail(`bad integer ${JSON.stringify(s.slice(this.pos, to))}`);
    let n = 0;
    for (let k = i; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c < ZERO || c > NINE) this.fail(`bad integer ${JSON.stringify(s.slice(this.pos, to))}`);
      n = n * 10 + (c - ZERO);
    }
    // Past 15 digits a double no longer holds every integer: let Number round as before.
    if (to - i > 15) n = Number(s.slice(i, to));
    this.skip(to);
    return neg ? -n : n;
  }

  /** A kernel timestamp (ns, unsigned). */
  ts(): bigint {
    const s = this.line;
    const to = this.end();
    if (to === this.pos || this.pos > s.length) this.fail('bad timestamp');
    for (let k = this.pos; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c < ZERO || c > NINE) this.fail('bad timestamp');
    }
    const v = BigInt(s.slice(this.pos, to));
    this.skip(to);
    return v;
  }

  /** The last `PID/TID` (or bare PID) that pt() read; tid is -1 after a bare PID. */
  pid = 0;
  tid = -1;

  /**
   * `PID/TID` or a bare PID into this.pid and this.tid: the caller then builds the event in one
   * literal of one of two shapes (a property added later costs more than the whole parse).
   */
  pt(): void {
    const s = this.line;
    const to = this.end();
    let cur = 0;
    let digits = 0;
    this.tid = -1;
    for (let k = this.pos; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c === SLASH && this.tid < 0 && digits > 0) {
        this.pid = cur;
        cur = 0;
        digits = 0;
        this.tid = 0;
        continue;
      }
      if (c < ZERO || c > NINE) this.fail(`bad integer ${JSON.stringify(s.slice(this.pos, to))}`);
      cur = cur * 10 + (c - ZERO);
      digits++;
    }
    if (digits === 0 || this.pos > s.length) this.fail(`bad integer ${JSON.stringify(s.slice(this.pos, to))}`);
    this.skip(to);
    if (this.tid < 0) this.pid = cur;
    else this.tid = cur;
  }

  /** `PID/TID` or a bare PID: sets pid (and tid when printed) on the event. */
  who<T extends { pid: number; tid?: number }>(e: T): T {
    this.pt();
    e.pid = this.pid;
    if (this.tid >= 0) e.tid = this.tid;
    return e;
  }

  /** A field as text. */
  str(): string {
    const to = this.end();
    if (this.pos > this.line.length) this.fail('missing field');
    const v = this.line.slice(this.pos, to);
    this.skip(to);
    return v;
  }

  /** The last field: everything left, tabs included (a path may hold any byte). */
  rest(): string {
    if (this.pos > this.line.length) this.fail('missing field');
    const v = this.line.slice(this.pos);
    this.pos = this.line.length + 1;
    return v;
  }

  /** The line must end here: no field left over. */
  done(): void {
    if (this.pos <= this.line.length) this.fail('too many fields');
  }
}
