import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SeedProcess } from './observer/observer.js';

/** A tracked process's pid and the start its Process node was keyed by. */
export interface LiveProcess {
  pid: number;
  start: number;
}

/** How far a /proc start time (10 ms ticks) may lie past the moment the process was last seen alive (µs). */
const SLACK_US = 20_000;

/**
 * The tracked processes alive at the agent's last batch, kept in the spool dir. A process seen
 * by its exec or fork is keyed by that event's time; found again in /proc after a restart it
 * would be keyed by /proc's start time (its fork, in 10 ms ticks) and stored twice. A seed whose
 * pid was alive in the previous run, and which started before that run last saw it, is that
 * process: it keeps its previous start, so its Process and Instance ids do not change.
 */
export class LiveTable {
  private readonly previous = new Map<number, number>();
  private aliveAt = 0;
  /** What the file holds now (pid to start), once this run wrote it. */
  private written: Map<number, number> | undefined;

  constructor(private readonly file: string) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { aliveAt?: number; procs?: LiveProcess[] };
      this.aliveAt = typeof saved.aliveAt === 'number' ? saved.aliveAt : 0;
      for (const p of saved.procs ?? []) if (Number.isInteger(p.pid) && Number.isInteger(p.start)) this.previous.set(p.pid, p.start);
    } catch {
      // none yet (first start), or cut by a crash: seeds keep their /proc start times
    }
  }

  /**
   * Remembers the processes alive now (at: the newest event time the agent handled). The file is
   * rewritten only when the set changed: each process in it started before the aliveAt it was
   * first saved with, so an older aliveAt matches the same processes, and a pid reused since the
   * last change is still not taken for the process before it. Says whether it wrote.
   */
  save(procs: LiveProcess[], at: number): boolean {
    const w = this.written;
    if (w !== undefined && w.size === procs.length && procs.every((p) => w.get(p.pid) === p.start)) return false;
    this.remember(procs, at);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ aliveAt: at, procs }), { mode: 0o600 });
    renameSync(tmp, this.file);
    this.written = new Map(this.previous);
    return true;
  }

  /** Takes the live processes of this run as the reference (a sensor restart in the same agent). */
  remember(procs: LiveProcess[], at: number): void {
    this.previous.clear();
    for (const p of procs) this.previous.set(p.pid, p.start);
    this.aliveAt = at;
  }

  /** The seed with the start it had before, when it is the same process; how many were matched. */
  canonical(seeds: SeedProcess[]): number {
    let matched = 0;
    for (const s of seeds) {
      const before = this.previous.get(s.pid);
      if (before === undefined || s.start > this.aliveAt + SLACK_US) continue;
      s.start = before;
      matched++;
    }
    return matched;
  }
}
