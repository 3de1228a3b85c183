import { accessSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/ensure-bpftrace.sh puts the project's own bpftrace, relative to the checkout. */
export const PROVISIONED_BPFTRACE = '.tools/bpftrace/bin/bpftrace';

/** The oldest bpftrace the generated program is written for. */
export const MIN_BPFTRACE = '0.23.0';

/**
 * The bpftrace faasprov runs when --bpftrace is not given: $FAASPROV_BPFTRACE, else the one
 * scripts/ensure-bpftrace.sh provisioned in this checkout's .tools (the system's may be older),
 * else `bpftrace` from PATH.
 */
export function defaultBpftrace(env: NodeJS.ProcessEnv = process.env, from = dirname(fileURLToPath(import.meta.url))): string {
  if (env.FAASPROV_BPFTRACE) return env.FAASPROV_BPFTRACE;
  for (let d = resolve(from); ; d = dirname(d)) {
    const candidate = join(d, PROVISIONED_BPFTRACE);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* look higher */
    }
    if (dirname(d) === d) return 'bpftrace';
  }
}

/** "bpftrace v0.23.2" → "0.23.2"; undefined when the text names no version. */
export function parseBpftraceVersion(text: string): string | undefined {
  return /bpftrace v?(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1];
}

/** a >= b for dotted versions. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
