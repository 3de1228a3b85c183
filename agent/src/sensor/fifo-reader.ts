import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** A read this big means output is flowing fast: read again at once so that bpftrace never blocks. */
const BUSY_BYTES = 256 * 1024;

/**
 * bpftrace's output through a named pipe (`bpftrace -o FIFO`) that the agent polls. Reading a
 * pipe as data arrives wakes the agent for every event line, and those wake-ups, not the
 * parsing, are what the functions on a busy node pay for; polling every few milliseconds reads
 * many lines per wake-up. The FIFO lives in a private directory (0700) of its own.
 */
export class FifoLineReader {
  readonly path: string;
  private readonly dir: string;
  private readonly fd: number;
  private readonly buf = Buffer.alloc(1 << 20);
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private timer: NodeJS.Timeout | undefined;
  private writerGone = false;
  private done: (() => void) | undefined;
  /** Resolves once the writer has exited and everything it wrote was read. */
  readonly closed: Promise<void>;

  constructor(private readonly onLine: (line: string) => void, private readonly paceMs = 20) {
    this.dir = mkdtempSync(join(tmpdir(), 'faasprov-sensor-'));
    this.path = join(this.dir, 'out');
    execFileSync('mkfifo', ['-m', '600', this.path]);
    // Non-blocking: opening does not wait for a writer, and reads return EAGAIN when empty.
    this.fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.closed = new Promise((res) => (this.done = res));
    this.poll();
  }

  /** The writer exited: read what is left, then close. */
  writerExited(): void {
    this.writerGone = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.poll();
    }
  }

  private poll(): void {
    this.timer = undefined;
    let got = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw err;
      }
      // 0: no writer has the FIFO open (not yet, or no longer).
      if (n === 0) break;
      got += n;
      this.lines(this.decoder.write(this.buf.subarray(0, n)));
      if (got >= BUSY_BYTES) break;
    }
    if (this.writerGone && got < BUSY_BYTES) return this.close();
    this.timer = setTimeout(() => this.poll(), got >= BUSY_BYTES ? 0 : this.paceMs);
  }

  private lines(text: string): void {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop()!;
    for (const l of parts) this.onLine(l);
  }

  private close(): void {
    this.lines(this.decoder.end());
    if (this.rest !== '') this.onLine(this.rest);
    this.rest = '';
    closeSync(this.fd);
    rmSync(this.dir, { recursive: true, force: true });
    this.done?.();
  }
}
