import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, read, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Written by the agent itself once bpftrace is gone; JSON output never holds a raw NUL. */
const END = Buffer.from('\0faasprov-end\n');
/** A read of at least this much (a quarter of the pipe) means output is flowing fast: read again at once. */
const BUSY_BYTES = 16 * 1024;

/**
 * bpftrace's output through a named pipe (`bpftrace -o FIFO`), read in coalesced chunks.
 * bpftrace writes (and flushes) one line per event, so a reader that takes data as it comes
 * wakes once per event, and those wake-ups cost the functions on the node more than the
 * parsing. A blocking read still wakes at once on the first line after a quiet spell; after a
 * small chunk the reader waits `coalesceMs` so that the next read takes many lines. After a big
 * chunk it reads again at once, so bpftrace never waits long on a full pipe in a burst.
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

  constructor(private readonly onLine: (line: string) => void, private readonly coalesceMs = 2) {
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
    let rest: Buffer | undefined;
    try {
      for (;;) {
        const n = await new Promise<number>((res, rej) => read(this.fd, buf, 0, buf.length, null, (err, got) => (err ? rej(err) : res(got))));
        const chunk = rest ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
        let start = 0;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
          if (chunk[start] === 0 && chunk.subarray(start, nl + 1).equals(END)) return;
          if (nl > start) this.onLine(chunk.toString('utf8', start, nl));
          start = nl + 1;
        }
        // Copied: buf is read into again.
        rest = start < chunk.length ? Buffer.from(chunk.subarray(start)) : undefined;
        if (rest && rest.length > buf.length) {
          this.onLine(rest.toString('utf8', 0, 200));
          rest = undefined;
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
