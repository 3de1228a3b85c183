import { globPrefixes } from '@faasprov/model';
import { ENV_CHUNK, type HostProbeOptions } from './sensor/host-probes.js';
import type { HostOptions } from './observer/host.js';

/** What the rules ask capture to keep beyond reads and writes (their sensitive paths and named variables). */
export interface HostCaptureOptions {
  /** Globs of sensitive paths: failed opens of them are kept as attempts. */
  attemptPaths?: string[];
  /** Environment variables kept from each exec. */
  execEnv?: string[];
}

/** Bytes of each exec's environment the kernel reads when a variable is named (8 chunks). */
export const DEFAULT_ENV_BYTES = ENV_CHUNK * 8;

/** The sensor's and the observer's share of the host options: the kernel filters coarsely, the agent exactly. */
export function hostSettings(o: HostCaptureOptions = {}): { program: HostProbeOptions; observer: HostOptions } {
  const envBytes = o.execEnv?.length ? DEFAULT_ENV_BYTES : 0;
  return {
    program: { attemptPrefixes: globPrefixes(o.attemptPaths ?? []), envBytes },
    observer: { attemptPaths: o.attemptPaths ?? [], execEnv: o.execEnv ?? [], envBytes },
  };
}
