/**
 * The crash-safe record of what `functions up` created: written (atomically) before each namespace
 * and process it starts, so `functions down` can remove everything after an up that was killed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface InstanceState {
  function: string;
  index: number;
  netns: string;
  address: string;
  log: string;
  pid?: number;
  /** /proc/PID/stat start time, so a recycled pid is never signalled. */
  start?: number;
}

export interface FunctionsState {
  version: 1;
  stack: string;
  pid: number;
  start: number;
  /** The third octet of 10.213.X.0/24 and the bridge that holds it, once claimed. */
  subnet?: number;
  bridge?: string;
  gateway?: string;
  instances: InstanceState[];
}

export function stateFileFor(stackDir: string): string {
  return join(stackDir, '.faasprov', 'functions.json');
}

export function readState(file: string): FunctionsState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as FunctionsState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(file: string, s: FunctionsState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, file);
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}

/** The kernel's start time of a process (clock ticks since boot), or undefined if it is gone. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined, start: number | undefined): boolean {
  return pid !== undefined && start !== undefined && processStart(pid) === start;
}
