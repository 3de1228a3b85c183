import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';

/** The newest version of a file the observer knows: the µs time of the write that made it, and whose write it was. */
export interface FileVersion {
  version: number;
  /** The tenant of the process that wrote it; absent: no tenant (or found before capture). */
  tenant?: string;
  /** The path it was written at (a restarted agent checks the file was not changed since). */
  path?: string;
}

/** One journal line: a version, or a key's deletion, and when the agent last knew it. */
interface JournalLine {
  k: string;
  at: number;
  v?: number;
  t?: string;
  p?: string;
}

/** Versions kept at most (the oldest written are forgotten first: a later read of one is version 0). */
const MAX_KEYS = 100_000;
/** Clock slack between a file's mtime and the agent's event times (µs). */
const MTIME_SLACK_US = 5_000;

/**
 * File versions by key (a path, or volume and path). A version belongs to the tenant whose
 * process wrote it, whoever reads it later: a reader's view of the version carries that tenant.
 * With a journal file (the daemon's spool dir) the table outlives the agent: a read after a
 * restart continues the version chain instead of starting again at version 0.
 */
export class FileVersions {
  private readonly map = new Map<string, FileVersion>();
  private readonly dirty = new Set<string>();
  private journalLines = 0;
  /** Versions forgotten over the cap, and versions dropped at load because the file changed while the agent was down. */
  evicted = 0;
  stale = 0;

  constructor(private readonly journal?: string) {
    if (journal && existsSync(journal)) this.load(journal);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): FileVersion | undefined {
    return this.map.get(key);
  }

  /** The current version (0: the content found before capture). */
  version(key: string): number {
    return this.map.get(key)?.version ?? 0;
  }

  /** A new version made at time t by a process of tenant, at path: versions only grow. */
  next(key: string, t: number, tenant: string | undefined, path?: string): number {
    const v = Math.max(t, this.version(key) + 1);
    const entry: FileVersion = { version: v };
    if (tenant !== undefined) entry.tenant = tenant;
    if (path !== undefined) entry.path = path;
    this.map.delete(key); // re-inserted last: the map's order is the order of writes
    this.map.set(key, entry);
    this.touch(key);
    if (this.map.size > MAX_KEYS) {
      const oldest = this.map.keys().next().value!;
      this.map.delete(oldest);
      this.touch(oldest);
      this.evicted++;
    }
    return v;
  }

  delete(key: string): void {
    if (this.map.delete(key)) this.touch(key);
  }

  private touch(key: string): void {
    if (this.journal) this.dirty.add(key);
  }

  /** Appends what changed since the last call to the journal (at: the agent's newest event time); compacts it when it grew long. */
  persist(at: number): void {
    if (!this.journal || this.dirty.size === 0) return;
    const lines: string[] = [];
    for (const k of this.dirty) lines.push(JSON.stringify(this.line(k, at)));
    this.dirty.clear();
    if (this.journalLines + lines.length > 2 * this.map.size + 10_000) return this.compact(at);
    const fd = openSync(this.journal, 'a', 0o600);
    try {
      writeSync(fd, lines.join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.journalLines += lines.length;
  }

  private line(k: string, at: number): JournalLine {
    const e = this.map.get(k);
    const l: JournalLine = { k, at };
    if (e) {
      l.v = e.version;
      if (e.tenant !== undefined) l.t = e.tenant;
      if (e.path !== undefined) l.p = e.path;
    }
    return l;
  }

  private compact(at: number): void {
    const tmp = `${this.journal}.tmp`;
    const lines = [...this.map.keys()].map((k) => JSON.stringify(this.line(k, at)));
    writeFileSync(tmp, lines.length > 0 ? lines.join('\n') + '\n' : '', { mode: 0o600 });
    renameSync(tmp, this.journal!);
    this.journalLines = lines.length;
  }

  /** Replays the journal; a file modified after the agent last knew its version is not trusted (its new content was not seen). */
  private load(journal: string): void {
    const last = new Map<string, JournalLine>();
    for (const text of readFileSync(journal, 'utf8').split('\n')) {
      if (text === '') continue;
      try {
        const l = JSON.parse(text) as JournalLine;
        if (typeof l.k !== 'string' || typeof l.at !== 'number') continue;
        last.delete(l.k);
        last.set(l.k, l);
      } catch {
        // a line cut by a crash: that version is forgotten (a later read is version 0)
      }
    }
    for (const [k, l] of last) {
      if (typeof l.v !== 'number') continue;
      if (l.p !== undefined) {
        let mtimeUs: number | undefined;
        try {
          mtimeUs = Number(statSync(l.p, { bigint: true }).mtimeNs / 1000n);
        } catch {
          mtimeUs = undefined; // gone: an unlink the agent did not see; reads will fail anyway
        }
        if (mtimeUs !== undefined && mtimeUs > l.at + MTIME_SLACK_US) {
          this.stale++;
          continue;
        }
      }
      const e: FileVersion = { version: l.v };
      if (l.t !== undefined) e.tenant = l.t;
      if (l.p !== undefined) e.path = l.p;
      this.map.set(k, e);
    }
    this.compact(Date.now() * 1000);
  }
}
