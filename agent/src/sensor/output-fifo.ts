import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Written by the agent itself once bpftrace is gone; bpftrace's output never holds a NUL (printf stops at one). */
const END = Buffer.from('\0faasprov-end\n');
/** bpftrace writes its text output in blocks of this size (libstdc++'s file buffer); less is a flush. */
const BLOCK = 8 * 1024;
/** A read this big (three quarters of the pipe) means the pipe was nearly full: read again at once. */
const FULL = 48 * 1024;
/** One read: the whole pipe (64 KiB). */
const READ_BYTES = 64 * 1024;
/** A line longer than this is handed on cut (the reader reports it), not gathered forever. */
const MAX_LINE = 1 << 20;

/**
 * bpftrace's output through a named pipe (`bpftrace -o FIFO`), handed on line by line as byte
 * ranges of the chunk read (no copy, no string per line here).
 *
 * The pipe is read on the event loop (a non-blocking pipe in libuv's epoll, not a blocking read
 * in the thread pool): on a virtual machine every thread hand-off costs tens of microseconds,
 * and at 40 flushes a second on an idle node those hand-offs were most of the agent's CPU.
 * bpftrace writes in 8 KiB blocks when output flows and less when its flush probe writes out a
 * trickle (framing.ts). After a read of at least one block and well below a full pipe the reader
 * waits `coalesceMs`, so the next read takes several blocks; after a flush it waits for the next
 * write; after a nearly full pipe it reads again at once, so bpftrace never waits long.
 *
 * The agent holds the FIFO open for writing too: bpftrace's exit never ends the stream, and once
 * bpftrace has exited the agent ends it itself (end()). The FIFO lives in a private (0700)
 * directory, removed once bpftrace has it open.
 */
export class OutputFifo {
  readonly path: string;
  /** The private directory of the FIFO (removed by unlink()). */
  readonly dir: string;
  private readonly sock: Socket;
  private readonly wfd: number;
  private ended = false;
  private done = false;
  /** A line that the last read cut. */
  private rest: Buffer | undefined;
  private resume: NodeJS.Timeout | undefined;
  private onClosed: () => void = () => undefined;
  /** Told the size of every read (output pacing follows bpftrace's output by it). */
  onRead: ((bytes: number) => void) | undefined;
  /** Why reading stopped early, if it did (never seen: reads of a pipe do not fail). */
  readError: Error | undefined;
  /** Resolves once end() was called and every line before it was handed on (or reading failed). */
  readonly closed: Promise<void>;

  constructor(private readonly onLine: (buf: Buffer, start: number, end: number) => void, private readonly coalesceMs = 2) {
    this.dir = mkdtempSync(join(tmpdir(), 'faasprov-sensor-'));
    this.path = join(this.dir, 'out');
    execFileSync('mkfifo', ['-m', '600', this.path]);
    // Reader first: a FIFO's non-blocking open for writing fails while nobody reads it.
    const rfd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.wfd = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK);
    this.closed = new Promise((res) => (this.onClosed = res));
    // Reads land in one buffer of ours: no allocation and no stream event per read.
    const buf = Buffer.allocUnsafe(READ_BYTES);
    this.sock = new Socket({ fd: rfd, readable: true, writable: false, onread: { buffer: buf, callback: (n: number) => this.onData(buf.subarray(0, n)) } } as ConstructorParameters<typeof Socket>[0]);
    this.sock.on('error', (err) => {
      this.readError = err;
      this.finish();
    });
  }

  /** The writer has it open (or never will): the name is no longer needed. */
  unlink(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** bpftrace has exited, so all it wrote is in the pipe: read that, then stop. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.writeEnd();
  }

  private writeEnd(): void {
    if (this.done) return;
    try {
      writeSync(this.wfd, END);
    } catch (err) {
      // A full pipe: the reader is draining it, try again shortly.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') setTimeout(() => this.writeEnd(), 5);
      else {
        this.readError = err as Error;
        this.finish();
      }
    }
  }

  /** One read, in the reader's buffer (overwritten by the next read); false pauses reading. */
  private onData(chunk: Buffer): boolean {
    this.onRead?.(chunk.length);
    let start = 0;
    if (this.rest) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        if (this.rest.length > MAX_LINE) {
          this.onLine(this.rest, 0, 200);
          this.rest = undefined;
        }
        return true;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl + 1)]);
      this.rest = undefined;
      if (this.lineAt(line, 0, line.length - 1)) return false;
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (this.lineAt(chunk, start, nl)) return false;
      start = nl + 1;
    }
    // Copied: the next read overwrites the buffer.
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
    if (this.coalesceMs > 0 && chunk.length >= BLOCK && chunk.length < FULL) {
      this.resume = setTimeout(() => this.sock.resume(), this.coalesceMs);
      return false;
    }
    return true;
  }

  /** One line, buf[start, nl); true at the end mark (after a line bpftrace may have left unfinished). */
  private lineAt(buf: Buffer, start: number, nl: number): boolean {
    const e = nl + 1 - END.length;
    if (e >= start && buf[e] === 0 && buf.subarray(e, nl + 1).equals(END)) {
      if (e > start) this.onLine(buf, start, e);
      this.finish();
      return true;
    }
    this.onLine(buf, start, nl);
    return false;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.resume);
    this.sock.destroy();
    closeSync(this.wfd);
    this.unlink();
    this.onClosed();
  }
}
