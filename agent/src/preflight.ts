import { accessSync, constants, existsSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import type { FaasprovError } from '@faasprov/model';
import { AgentErrors } from './errors.js';
import { MIN_BPFTRACE, defaultBpftrace, parseBpftraceVersion, versionAtLeast } from './bpftrace-path.js';

const TRACEFS = '/sys/kernel/tracing';
const BTF = '/sys/kernel/btf/vmlinux';

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

/** One requirement, as `faasprov doctor` prints it; run and agent refuse to start with its error. */
export interface Requirement {
  name: string;
  ok: boolean;
  /** What was found: a version, a path; or what is missing. */
  found: string;
  /** Capture cannot start without it. */
  required: boolean;
  /** When a requirement is not met: the error run and agent stop with (its message says the fix). */
  error?: FaasprovError;
  /** When an optional tool is missing: what it is for and how to get it. */
  fix?: string;
}

function met(name: string, found: string, required = true): Requirement {
  return { name, ok: true, found, required };
}
function unmet(name: string, found: string, error: FaasprovError): Requirement {
  return { name, ok: false, found, required: true, error };
}

export function checkRoot(uid = process.getuid?.() ?? 0): Requirement {
  return uid === 0 ? met('root', 'uid 0') : unmet('root', `uid ${uid}`, AgentErrors.FP_ERR_NOT_ROOT());
}

/** The version a bpftrace binary reports, or undefined when it does not run. */
export async function bpftraceVersion(bin: string): Promise<string | undefined> {
  const r = await execa(bin, ['--version'], { reject: false, timeout: 10000 });
  return r.exitCode === 0 ? parseBpftraceVersion(String(r.stdout)) : undefined;
}

export async function checkBpftrace(want = defaultBpftrace()): Promise<Requirement & { path?: string; version?: string }> {
  const path = which(want);
  if (!path) return unmet('bpftrace', `not found (${want})`, AgentErrors.FP_ERR_NO_BPFTRACE(want));
  const version = await bpftraceVersion(path);
  if (!version || !versionAtLeast(version, MIN_BPFTRACE)) {
    return { ...unmet('bpftrace', `${version ?? 'version unknown'} (${path})`, AgentErrors.FP_ERR_OLD_BPFTRACE(path, version ?? '(version unknown)', MIN_BPFTRACE)), path };
  }
  return { ...met('bpftrace', `${version} (${path})`), path, version };
}

export function checkBtf(btfPath = BTF): Requirement {
  const kernel = `Linux ${release()}`;
  return existsSync(btfPath) ? met('kernel BTF', `${kernel}, ${btfPath}`) : unmet('kernel BTF', `${kernel}, no ${btfPath}`, AgentErrors.FP_ERR_NO_BTF());
}

/** tracefs at `dir`; with mount, mounted there when it is not (as capture does). */
export async function checkTracefs(dir = TRACEFS, mount = true): Promise<Requirement> {
  if (existsSync(join(dir, 'events'))) return met('tracefs', dir);
  if (!mount) return met('tracefs', `not mounted at ${dir}; run and agent mount it when they start`);
  const r = await execa('mount', ['-t', 'tracefs', 'nodev', dir], { reject: false, timeout: 10000 });
  if (r.exitCode !== 0 || !existsSync(join(dir, 'events'))) {
    return unmet('tracefs', `not mounted at ${dir}`, AgentErrors.FP_ERR_NO_TRACEFS(String(r.stderr || r.stdout || `mount exited ${r.exitCode}`).trim()));
  }
  return met('tracefs', `${dir} (mounted now)`);
}

/** An optional tool: the first line of `cmd args` (its version), or what it is for when missing. */
export async function checkTool(name: string, cmd: string, args: string[], fix: string): Promise<Requirement> {
  const path = which(cmd);
  const r = path ? await execa(path, args, { reject: false, timeout: 10000 }) : undefined;
  if (!r || r.exitCode !== 0) return { name, ok: false, found: path ? `${path} does not run` : `${cmd} not found`, required: false, fix };
  const first = `${String(r.stdout)}\n${String(r.stderr)}`.split('\n').map((l) => l.trim()).find(Boolean) ?? path!;
  return met(name, first, false);
}

/** Tools that optional capture features call: chrt (--sched), setpriv (--sensor-pace) and nm (--gpu-lib). */
export function checkCaptureTools(): Promise<Requirement[]> {
  return Promise.all([
    checkTool('chrt', 'chrt', ['--version'], 'util-linux (apt-get install util-linux): --sched batch|idle runs the agent and bpftrace under it'),
    checkTool('setpriv', 'setpriv', ['--version'], 'util-linux (apt-get install util-linux): --sensor-pace paces bpftrace only when it runs under setpriv --pdeathsig (it dies with the agent)'),
    checkTool('nm', 'nm', ['--version'], 'binutils (apt-get install binutils): --gpu-lib reads the CUDA entry points a library defines'),
  ]);
}

/**
 * What capture needs, in order: root, bpftrace (>= 0.23), kernel BTF, tracefs. Stops at the
 * first requirement not met unless `all` (faasprov doctor: every line, and tracefs only looked at).
 */
export async function captureRequirements(opts: PreflightOptions & { all?: boolean } = {}): Promise<Requirement[]> {
  const steps: (() => Requirement | Promise<Requirement>)[] = [
    () => checkRoot(opts.uid),
    () => checkBpftrace(opts.bpftrace),
    () => checkBtf(opts.btfPath),
    () => checkTracefs(opts.tracefs, !opts.all),
  ];
  const out: Requirement[] = [];
  for (const step of steps) {
    const r = await step();
    out.push(r);
    if (!r.ok && !opts.all) break;
  }
  return out;
}

/**
 * Checks what capture needs (captureRequirements) and throws the error of the first requirement
 * not met, the message `faasprov doctor` prints for it; starts nothing but a tracefs mount.
 */
export async function preflight(opts: PreflightOptions = {}): Promise<{ bpftrace: string; version: string }> {
  const reqs = await captureRequirements(opts);
  const missing = reqs.find((r) => !r.ok);
  if (missing?.error) throw missing.error;
  const b = reqs[1] as Requirement & { path: string; version: string };
  return { bpftrace: b.path, version: b.version };
}
