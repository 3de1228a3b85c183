import { globPrefixes } from '@faasprov/model';
import { ENV_CHUNK, type HostProbeOptions } from './sensor/host-probes.js';
import type { HostOptions } from './observer/host.js';

/** What the rules ask capture to keep beyond reads and writes (their sensitive paths and named variables). */
export interface HostCaptureOptions {
  /** Globs of sensitive paths: failed opens of them are kept as attempts. */
  attemptPaths?: string[];
  /** Environment variables kept from each exec. */
  execEnv?: string[];
  /** Where secrets are mounted: an instance's mount points below these are its own secrets (default: procfs.ts's SECRET_ROOTS). */
  secretRoots?: string[];
}

/** Bytes of each exec's environment the kernel reads when a variable is named (8 chunks). */
export const DEFAULT_ENV_BYTES = ENV_CHUNK * 8;

/**
 * A prefix the program can hold as a string literal: cut before a byte it cannot (a space, a
 * quote, a backslash, non-ASCII), back to that directory. The kernel compares 8 bytes anyway;
 * the agent matches the whole glob.
 */
function literalPrefix(p: string): string | undefined {
  const bad = p.search(/[^\x21-\x7e]|["\\]/);
  const cut = bad < 0 ? p : p.slice(0, p.lastIndexOf('/', bad) + 1);
  return cut.length > 1 ? cut.slice(0, 63) : undefined;
}

/** The sensor's and the observer's share of the host options: the kernel filters coarsely, the agent exactly. */
export function hostSettings(o: HostCaptureOptions = {}): { program: HostProbeOptions; observer: HostOptions } {
  const envBytes = o.execEnv?.length ? DEFAULT_ENV_BYTES : 0;
  const prefixes = [...new Set(globPrefixes(o.attemptPaths ?? []).map(literalPrefix).filter((p): p is string => p !== undefined))];
  return {
    program: { attemptPrefixes: globPrefixes(prefixes).slice(0, 32), envBytes },
    observer: { attemptPaths: o.attemptPaths ?? [], execEnv: o.execEnv ?? [], envBytes },
  };
}
