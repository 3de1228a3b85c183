import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { AgentErrors } from './errors.js';
import { MIN_BPFTRACE, defaultBpftrace, parseBpftraceVersion, versionAtLeast } from './bpftrace-path.js';

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
  /** Default: defaultBpftrace() (the project's provisioned one, else PATH). */
  bpftrace?: string;
  /** For tests: pretend to be this uid. */
  uid?: number;
  btfPath?: string;
  tracefs?: string;
}

/**
 * Checks what capture needs, in order: root, bpftrace (>= 0.23), BTF, tracefs (mounted when missing).
 * Throws one clear error for the first thing missing; starts nothing.
 */
export async function preflight(opts: PreflightOptions = {}): Promise<{ bpftrace: string; version: string }> {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0) throw AgentErrors.FP_ERR_NOT_ROOT();
  const want = opts.bpftrace ?? defaultBpftrace();
  const bpftrace = which(want);
  if (!bpftrace) throw AgentErrors.FP_ERR_NO_BPFTRACE(want);
  const version = await bpftraceVersion(bpftrace);
  if (!version || !versionAtLeast(version, MIN_BPFTRACE)) throw AgentErrors.FP_ERR_OLD_BPFTRACE(bpftrace, version ?? '(version unknown)', MIN_BPFTRACE);
  if (!existsSync(opts.btfPath ?? '/sys/kernel/btf/vmlinux')) throw AgentErrors.FP_ERR_NO_BTF();
  const tracefs = opts.tracefs ?? TRACEFS;
  if (!existsSync(join(tracefs, 'events'))) {
    const r = await execa('mount', ['-t', 'tracefs', 'nodev', tracefs], { reject: false, timeout: 10000 });
    if (r.exitCode !== 0 || !existsSync(join(tracefs, 'events'))) {
      throw AgentErrors.FP_ERR_NO_TRACEFS(String(r.stderr || r.stdout || `mount exited ${r.exitCode}`).trim());
    }
  }
  return { bpftrace, version };
}

/** The version a bpftrace binary reports, or undefined when it does not run. */
export async function bpftraceVersion(bin: string): Promise<string | undefined> {
  const r = await execa(bin, ['--version'], { reject: false, timeout: 10000 });
  return r.exitCode === 0 ? parseBpftraceVersion(String(r.stdout)) : undefined;
}
