import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { InstanceFacts, SeedProcess } from './observer/observer.js';
import { envFacts, envVars } from './observer/instance-env.js';
import type { Scope } from './sensor/program.js';

export { FUNCTION_ENV_KEYS, NAMESPACE_ENV_KEYS } from './observer/instance-env.js';

const CLK_TCK = 100;
/** One tick of /proc's process start times, in ns. */
const TICK_NS = BigInt(1_000_000_000 / CLK_TCK);

interface Stat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  startTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    const rest = s.slice(close + 2).split(' ');
    // After "(comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime stime cutime cstime priority nice num_threads itrealvalue starttime
    return { pid, comm: s.slice(open + 1, close), state: rest[0] ?? '', ppid: Number(rest[1]), startTicks: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

let bootOffset: bigint | undefined;
/** CLOCK_BOOTTIME (/proc's process starts) minus CLOCK_MONOTONIC (event times): the time the machine was suspended, in 10 ms. */
function bootOffsetNs(): bigint {
  if (bootOffset === undefined) {
    const up = safe(() => readFileSync('/proc/uptime', 'latin1').split(' ')[0]) ?? '0';
    const offset = BigInt(Math.round(Number(up) * 1000)) * 1_000_000n - process.hrtime.bigint();
    bootOffset = offset > 0n ? offset : 0n;
  }
  return bootOffset;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * The addresses of a process's own network namespace (IPv4 host-local entries of its FIB,
 * loopback left out); none when it shares the agent's namespace (then they say nothing of it).
 */
export function namespaceAddresses(pid: number): string[] {
  const ns = safe(() => readlinkSync(`/proc/${pid}/ns/net`));
  if (!ns || ns === safe(() => readlinkSync('/proc/self/ns/net'))) return [];
  const fib = safe(() => readFileSync(`/proc/${pid}/net/fib_trie`, 'utf8')) ?? '';
  const out = new Set<string>();
  const lines = fib.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)$/.exec(lines[i]!);
    if (m && /\/32 host LOCAL/.test(lines[i + 1]!) && !m[1]!.startsWith('127.')) out.add(m[1]!);
  }
  return [...out].slice(0, 16);
}

/** Where OpenFaaS, Docker and Kubernetes mount secrets (the rules can name others). */
export const SECRET_ROOTS = ['/var/openfaas/secrets', '/run/secrets', '/var/run/secrets'];

/**
 * The mount points at or below the secret roots in a process's mount namespace
 * (/proc/PID/mountinfo's fifth field, octal escapes decoded): the secrets mounted for it.
 */
export function secretMounts(pid: number, roots: readonly string[] = SECRET_ROOTS): string[] {
  const text = safe(() => readFileSync(`/proc/${pid}/mountinfo`, 'utf8')) ?? '';
  const trimmed = roots.map((r) => (r.length > 1 ? r.replace(/\/+$/, '') : r));
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const at = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (trimmed.some((r) => at === r || at.startsWith(`${r}/`))) out.add(at);
  }
  return [...out].sort().slice(0, 32);
}

/**
 * An instance's facts from its root's /proc: cgroup, addresses, secrets and what its environment
 * says (function, tenant, the platform's endpoints). `unread` when the root is gone (or a zombie,
 * whose environment the kernel no longer holds), or when the pid now belongs to a process started
 * after the exec at `execNs` (kernel monotonic ns): then nothing is read from it, since another
 * process's facts would be a guess.
 */
export function describeInstance(pid: number, secretRoots?: readonly string[], execNs?: bigint): InstanceFacts {
  const gone = (): boolean => {
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') return true;
    // /proc's start is in 10 ms ticks of CLOCK_BOOTTIME: a process started well after the exec is another one.
    return execNs !== undefined && BigInt(st.startTicks) * TICK_NS - bootOffsetNs() > execNs + 50_000_000n;
  };
  if (gone()) return { unread: 'exited' };
  const facts: InstanceFacts = {};
  const addresses = namespaceAddresses(pid);
  if (addresses.length > 0) facts.addresses = addresses;
  const secrets = secretMounts(pid, secretRoots);
  if (secrets.length > 0) facts.secrets = secrets;
  const cg = safe(() => readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const line = cg?.split('\n').find((l) => l.startsWith('0::'));
  if (line) facts.cgroupPath = line.slice(3);
  const env = safe(() => readFileSync(`/proc/${pid}/environ`, 'utf8'));
  // Read while it lived, but it may have exited meanwhile: an empty environment from a process
  // gone by now says nothing (a live process with an empty environment is read as such).
  if (!env && gone()) return { unread: 'exited' };
  if (env) {
    // Names resolve as the instance resolves them: its own hosts file (a namespace's cluster names).
    const hosts = safe(() => readFileSync(`/proc/${pid}/root/etc/hosts`, 'utf8'));
    Object.assign(facts, envFacts(envVars(env.split('\0')), hosts));
  }
  return facts;
}

function openFiles(pid: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const fd of safe(() => readdirSync(`/proc/${pid}/fd`)) ?? []) {
    const t = safe(() => readlinkSync(`/proc/${pid}/fd/${fd}`));
    if (t?.startsWith('/')) m.set(Number(fd), t);
  }
  return m;
}

function ids(pid: number): { uid?: number; euid?: number } {
  const status = safe(() => readFileSync(`/proc/${pid}/status`, 'utf8'));
  const m = status && /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  return m ? { uid: Number(m[1]), euid: Number(m[2]) } : {};
}

/**
 * The watched trees already running: roots whose comm is a watched name (and that are not
 * inside another watched tree), then all their descendants, parents first.
 * toUs converts kernel monotonic ns (process start) to the graph's epoch µs.
 */
export function scanWatchedTrees(comms: string[], toUs: (ns: bigint) => number, self = process.pid, secretRoots?: readonly string[]): SeedProcess[] {
  const names = new Set(comms.map((c) => c.slice(0, 15)));
  const stats = new Map<number, Stat>();
  for (const d of safe(() => readdirSync('/proc')) ?? []) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(Number(d));
    if (st) stats.set(st.pid, st);
  }
  const children = new Map<number, number[]>();
  for (const st of stats.values()) children.set(st.ppid, [...(children.get(st.ppid) ?? []), st.pid]);
  const insideWatched = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid, n = 0; p && p > 1 && n < 4096; p = stats.get(p)?.ppid, n++) {
      if (names.has(stats.get(p)?.comm ?? '')) return true;
    }
    return false;
  };
  const roots = [...stats.values()].filter((s) => names.has(s.comm) && !insideWatched(s.pid) && s.pid !== self);
  const out: SeedProcess[] = [];
  const queue = roots.map((r) => ({ pid: r.pid, root: true }));
  const seen = new Set<number>();
  while (queue.length > 0) {
    const { pid, root } = queue.shift()!;
    if (seen.has(pid) || pid === self) continue;
    seen.add(pid);
    const st = stats.get(pid)!;
    const cmdline = safe(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ?? '';
    const argv = cmdline.split('\0');
    if (argv.at(-1) === '') argv.pop();
    out.push({
      pid,
      ppid: st.ppid,
      start: toUs(BigInt(st.startTicks) * TICK_NS),
      exe: safe(() => readlinkSync(`/proc/${pid}/exe`)) ?? `[${st.comm}]`,
      argv: argv.slice(0, 256),
      cwd: safe(() => readlinkSync(`/proc/${pid}/cwd`)) ?? '/',
      fds: openFiles(pid),
      ...ids(pid),
      root,
      ...(root ? { instance: describeInstance(pid, secretRoots) } : {}),
    });
    for (const c of children.get(pid) ?? []) queue.push({ pid: c, root: false });
  }
  return out;
}

/** The kernel program's scope for watched trees: the names, and the running trees' pids and shim fds on /dev/null. */
export function watchScope(comms: string[], seeds: SeedProcess[]): Scope {
  return {
    kind: 'watch',
    comms,
    seedPids: seeds.map((s) => s.pid),
    seedDevNull: seeds.flatMap((s) => [...s.fds].filter(([, path]) => path === '/dev/null').map(([fd]) => ({ pid: s.pid, fd }))),
  };
}
