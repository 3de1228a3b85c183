import { TERMINATOR_LENGTH } from './framing.js';

export interface TextOutputHandlers {
  /** One printf's output, without its terminator and final newline. */
  onPrintf(text: string): void;
  /** A line bpftrace wrote itself: a map entry, a loss report, the flush probe's empty line (not passed on), a warning. */
  onOwnLine(text: string): void;
  /** Lines that started a printf and never reached its terminator within the bound. */
  onBroken(text: string): void;
}

const TAB = 9;
/** The longest printf output (a 200-byte path of newlines, escaped argv) is far below this. */
const MAX_PENDING = 16 * 1024;

/**
 * Cuts bpftrace's framed text output (framing.ts) into printfs and bpftrace's own lines. Lines
 * come as byte ranges of the reader's buffer: the common line (one printf, no newline inside) is
 * decoded once, without its terminator, and nothing else is allocated for it.
 */
export class TextOutputReader {
  private readonly term: Uint8Array;
  /** A printf whose text held a newline, so far. */
  private pending: string | undefined;

  constructor(terminator: string, private readonly h: TextOutputHandlers) {
    this.term = Buffer.from(terminator, 'latin1');
    if (this.term.length !== TERMINATOR_LENGTH) throw new Error('bad terminator');
  }

  /** One line: buf[start, end), the newline excluded. */
  line(buf: Buffer, start: number, end: number): void {
    const text = end - start >= TERMINATOR_LENGTH && this.terminated(buf, end) ? end - TERMINATOR_LENGTH : -1;
    if (text >= 0) {
      const s = buf.toString('utf8', start, text);
      if (this.pending === undefined) {
        this.h.onPrintf(s);
      } else {
        const all = `${this.pending}\n${s}`;
        this.pending = undefined;
        this.h.onPrintf(all);
      }
      return;
    }
    if (this.pending !== undefined) {
      this.pending += `\n${buf.toString('utf8', start, end)}`;
      if (this.pending.length > MAX_PENDING) this.flushBroken();
      return;
    }
    if (end === start) return;
    // A printf's first line always starts with its tag ("O\t"); bpftrace's own lines never do.
    if (end - start >= 2 && buf[start + 1] === TAB) this.pending = buf.toString('utf8', start, end);
    else this.h.onOwnLine(buf.toString('utf8', start, end));
  }

  /** The output ended: a printf still open is reported, not dropped. */
  end(): void {
    if (this.pending !== undefined) this.flushBroken();
  }

  private flushBroken(): void {
    const p = this.pending!;
    this.pending = undefined;
    this.h.onBroken(p);
  }

  private terminated(buf: Buffer, end: number): boolean {
    const t = this.term;
    const at = end - TERMINATOR_LENGTH;
    for (let i = TERMINATOR_LENGTH - 1; i >= 0; i--) if (buf[at + i] !== t[i]) return false;
    return true;
  }
}
