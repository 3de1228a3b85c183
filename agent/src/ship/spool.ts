import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, writevSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GENESIS_HASH, agentNode, type Batch } from '@faasprov/model';
import { AgentErrors } from '../errors.js';

export interface SpoolOptions {
  dir: string;
  /** The node name: the agent id is NAME:EPOCH, EPOCH made once per spool. */
  node: string;
  /** Cap on unacknowledged bytes on disk. */
  maxBytes?: number;
  segmentBytes?: number;
}

interface Segment {
  file: string;
  first: number;
  last: number;
  bytes: number;
}

export interface PendingBatch {
  seq: number;
  body: string;
}

/** What the last spooled batch says about the previous run (for the agent-down gap). */
export interface SpoolResume {
  lastSeq: number;
  lastEventTime: number;
  tornLines: number;
}

const safeNode = (node: string) => node.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);

const NEWLINE = Buffer.from('\n');

const SEGMENT = /^seg-(\d{16})\.jsonl$/;

/**
 * The agent's on-disk spool: append-only segment files of batches (one JSON line each, the
 * exact body sent), fsynced on every append; an `acked` file records the last acknowledged seq.
 * `acked` is replaced (write and rename) but not fsynced: after a kill -9 the kernel still has it;
 * after a power cut it may say an older seq (or be empty), and the batches after it that are
 * still on disk are sent again, which the collector drops as duplicates by (agent, seq).
 * Segments wholly acknowledged are deleted. Unacknowledged batches survive restarts and are
 * resent in order. Over maxBytes, append refuses (the caller counts what it could not keep).
 */
export class DiskSpool {
  readonly agent: string;
  private segments: Segment[] = [];
  /** With each line's size in bytes (newline included), counted once. */
  private pending: (PendingBatch & { bytes: number })[] = [];
  /** Bytes of the pending batches' lines (acknowledged lines may still sit in the active segment). */
  private pendingBytes = 0;
  private acked = -1;
  private fd: number | undefined;
  nextSeq = 0;
  lastHash = GENESIS_HASH;
  readonly resume: SpoolResume | undefined;
  readonly maxBytes: number;
  private readonly segmentBytes: number;

  constructor(private readonly opts: SpoolOptions) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = opts.segmentBytes ?? 4 * 1024 * 1024;
    try {
      mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw AgentErrors.FP_ERR_SPOOL(opts.dir, (err as Error).message);
    }
    const metaFile = join(opts.dir, 'meta.json');
    if (existsSync(metaFile)) {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { agent?: string };
      if (typeof meta.agent !== 'string') throw AgentErrors.FP_ERR_SPOOL(opts.dir, 'meta.json has no agent id');
      this.agent = meta.agent;
      // The collector binds an agent id to its node: a spool made for another node cannot serve this one.
      if (agentNode(meta.agent) !== safeNode(opts.node)) {
        throw AgentErrors.FP_ERR_SPOOL(opts.dir, `it belongs to node ${agentNode(meta.agent)}, not ${opts.node}; give this node a spool of its own`);
      }
    } else {
      this.agent = `${safeNode(opts.node)}:${randomBytes(6).toString('hex')}`;
      this.atomicWrite(metaFile, JSON.stringify({ agent: this.agent, created: new Date().toISOString() }) + '\n');
    }
    const ackFile = join(opts.dir, 'acked');
    // Anything but a whole number (a file cut short by a power cut): nothing counts as acknowledged.
    const acked = existsSync(ackFile) ? readFileSync(ackFile, 'utf8').trim() : '';
    this.acked = /^\d{1,15}$/.test(acked) ? Number(acked) : -1;
    this.resume = this.load();
  }

  private atomicWrite(file: string, text: string, durable = true): void {
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, text);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  }

  private load(): SpoolResume | undefined {
    const files = readdirSync(this.opts.dir).filter((f) => SEGMENT.test(f)).sort();
    let last: { seq: number; time: number } | undefined;
    let torn = 0;
    for (const f of files) {
      const file = join(this.opts.dir, f);
      const seg: Segment = { file, first: Number(SEGMENT.exec(f)![1]), last: -1, bytes: statSync(file).size };
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line === '') continue;
        let b: Pick<Batch, 'seq' | 'hash' | 'nodes' | 'edges'>;
        try {
          b = JSON.parse(line) as typeof b;
        } catch {
          torn++; // a write cut by a crash: it was never acknowledged, and it is gone
          continue;
        }
        if (typeof b.seq !== 'number') {
          torn++;
          continue;
        }
        seg.last = b.seq;
        this.nextSeq = Math.max(this.nextSeq, b.seq + 1);
        if (typeof b.hash === 'string') this.lastHash = b.hash;
        if (b.seq > this.acked) {
          const bytes = Buffer.byteLength(line) + 1;
          this.pending.push({ seq: b.seq, body: line, bytes });
          this.pendingBytes += bytes;
        }
        const t = Math.max(0, ...(b.edges ?? []).map((e) => e.lastTime));
        last = { seq: b.seq, time: Math.max(last?.time ?? 0, t) };
      }
      this.segments.push(seg);
    }
    this.nextSeq = Math.max(this.nextSeq, this.acked + 1);
    this.dropAcked();
    return last ? { lastSeq: last.seq, lastEventTime: last.time, tornLines: torn } : torn > 0 ? { lastSeq: -1, lastEventTime: 0, tornLines: torn } : undefined;
  }

  /** Bytes of unacknowledged batches: what is still to send, not the acknowledged history beside it. */
  get bytes(): number {
    return this.pendingBytes;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Appends a batch (already numbered and chained) as json (JSON.stringify(batch) unless given); false when the cap would be passed. */
  append(batch: Batch, json = JSON.stringify(batch)): boolean {
    // Encoded once, for its size and for the write (writeSync would encode a string again); the
    // newline in the same write, so a line is never left open for the next to run into.
    const data = Buffer.from(json);
    const size = data.length + 1;
    if (this.bytes + size > this.maxBytes) return false;
    let seg = this.segments.at(-1);
    if (!seg || this.fd === undefined || seg.bytes >= this.segmentBytes) {
      if (this.fd !== undefined) closeSync(this.fd);
      const file = join(this.opts.dir, `seg-${String(batch.seq).padStart(16, '0')}.jsonl`);
      seg = { file, first: batch.seq, last: batch.seq, bytes: 0 };
      this.segments.push(seg);
      this.fd = openSync(file, 'a', 0o600);
    }
    writevSync(this.fd, [data, NEWLINE]);
    fsyncSync(this.fd);
    seg.bytes += size;
    seg.last = batch.seq;
    this.pending.push({ seq: batch.seq, body: json, bytes: size });
    this.pendingBytes += size;
    this.nextSeq = batch.seq + 1;
    if (batch.hash) this.lastHash = batch.hash;
    return true;
  }

  /** The oldest batch not yet acknowledged. */
  peek(): PendingBatch | undefined {
    return this.pending[0];
  }

  ack(seq: number): void {
    if (seq <= this.acked) return;
    this.acked = seq;
    for (const p of this.pending) if (p.seq <= seq) this.pendingBytes -= p.bytes;
    this.pending = this.pending.filter((p) => p.seq > seq);
    // Not fsynced: a stale ack only means a resend the collector drops (see the class comment).
    this.atomicWrite(join(this.opts.dir, 'acked'), `${seq}\n`, false);
    this.dropAcked();
  }

  private dropAcked(): void {
    const keep: Segment[] = [];
    for (const s of this.segments) {
      const active = s === this.segments.at(-1) && this.fd !== undefined;
      if (s.last >= 0 && s.last <= this.acked && !active) {
        try {
          unlinkSync(s.file);
        } catch {
          /* already gone */
        }
      } else keep.push(s);
    }
    this.segments = keep;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
