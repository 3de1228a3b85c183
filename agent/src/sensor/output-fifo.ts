import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, read, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Written by the agent itself once bpftrace is gone; bpftrace's output never holds a NUL (printf stops at one). */
const END = Buffer.from('\0faasprov-end\n');
/** A read of at least this much (a quarter of the pipe) means output is flowing fast: read again at once. */
const BUSY_BYTES = 16 * 1024;

/**
 * bpftrace's output through a named pipe (`bpftrace -o FIFO`), read in coalesced chunks and
 * handed on line by line as byte ranges of one reused buffer (no copy, no string per line here).
 * A reader that takes data as it comes wakes once per write, and those wake-ups cost the
 * functions on the node more than the parsing. A blocking read still wakes at once on the first
 * write after a quiet spell; after a small chunk the reader waits `coalesceMs` so that the next
 * read takes many lines. After a big chunk it reads again at once, so bpftrace never waits long
 * on a full pipe in a burst.
 *
 * The agent holds the FIFO open for reading and writing: open never blocks, and once bpftrace
 * has exited the agent ends the stream itself (end()). The FIFO lives in a private (0700)
 * directory, removed once bpftrace has it open.
 */
export class OutputFifo {
  readonly path: string;
  /** The private directory of the FIFO (removed by unlink()). */
  readonly dir: string;
  private readonly fd: number;
  private ended = false;
  /** Why reading stopped early, if it did (never seen: reads of a pipe do not fail). */
  readError: Error | undefined;
  /** Resolves once end() was called and every line before it was handed on (or reading failed). */
  readonly closed: Promise<void>;

  constructor(private readonly onLine: (buf: Buffer, start: number, end: number) => void, private readonly coalesceMs = 2) {
    this.dir = mkdtempSync(join(tmpdir(), 'faasprov-sensor-'));
    this.path = join(this.dir, 'out');
    execFileSync('mkfifo', ['-m', '600', this.path]);
    this.fd = openSync(this.path, constants.O_RDWR);
    this.closed = this.pump();
  }

  /** The writer has it open (or never will): the name is no longer needed. */
  unlink(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** bpftrace has exited, so all it wrote is in the pipe: read that, then stop. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    writeSync(this.fd, END);
  }

  private async pump(): Promise<void> {
    const buf = Buffer.allocUnsafe(1 << 20);
    // buf[0, have) is a line that the last read cut; the next read lands after it.
    let have = 0;
    try {
      for (;;) {
        const n = await new Promise<number>((res, rej) => read(this.fd, buf, have, buf.length - have, null, (err, got) => (err ? rej(err) : res(got))));
        const total = have + n;
        // Searched in a view: past `total` the buffer holds stale bytes.
        const data = buf.subarray(0, total);
        let start = 0;
        for (let nl = data.indexOf(10, have); nl !== -1; nl = data.indexOf(10, start)) {
          // The end mark, after a line bpftrace may have left unfinished.
          const e = nl + 1 - END.length;
          if (e >= start && buf[e] === 0 && data.subarray(e, nl + 1).equals(END)) {
            if (e > start) this.onLine(buf, start, e);
            return;
          }
          this.onLine(buf, start, nl);
          start = nl + 1;
        }
        have = total - start;
        if (have > 0 && start > 0) buf.copy(buf, 0, start, total);
        if (have === buf.length) {
          // A line longer than the buffer: what fits is handed on, cut (the reader reports it).
          this.onLine(buf, 0, 200);
          have = 0;
        }
        if (n < BUSY_BYTES && this.coalesceMs > 0) await new Promise((r) => setTimeout(r, this.coalesceMs));
      }
    } catch (err) {
      this.readError = err as Error;
    } finally {
      closeSync(this.fd);
      this.unlink();
    }
  }
}
