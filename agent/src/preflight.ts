import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { AgentErrors } from './errors.js';

const TRACEFS = '/sys/kernel/tracing';

/** Finds an executable on PATH (or checks an explicit path). */
export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : path.split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface PreflightOptions {
  bpftrace?: string;
  /** For tests: pretend to be this uid. */
  uid?: number;
  btfPath?: string;
  tracefs?: string;
}

/**
 * Checks what capture needs, in order: root, bpftrace, BTF, tracefs (mounted when missing).
 * Throws one clear error for the first thing missing; starts nothing.
 */
export async function preflight(opts: PreflightOptions = {}): Promise<{ bpftrace: string }> {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0) throw AgentErrors.FP_ERR_NOT_ROOT();
  const want = opts.bpftrace ?? 'bpftrace';
  const bpftrace = which(want);
  if (!bpftrace) throw AgentErrors.FP_ERR_NO_BPFTRACE(want);
  if (!existsSync(opts.btfPath ?? '/sys/kernel/btf/vmlinux')) throw AgentErrors.FP_ERR_NO_BTF();
  const tracefs = opts.tracefs ?? TRACEFS;
  if (!existsSync(join(tracefs, 'events'))) {
    const r = await execa('mount', ['-t', 'tracefs', 'nodev', tracefs], { reject: false, timeout: 10000 });
    if (r.exitCode !== 0 || !existsSync(join(tracefs, 'events'))) {
      throw AgentErrors.FP_ERR_NO_TRACEFS(String(r.stderr || r.stdout || `mount exited ${r.exitCode}`).trim());
    }
  }
  return { bpftrace };
}
