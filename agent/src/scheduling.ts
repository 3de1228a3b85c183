import { readFileSync } from 'node:fs';
import { execa } from 'execa';

/** How the agent and its bpftrace are scheduled against the functions they watch. */
export const SCHED_POLICIES = ['batch', 'idle', 'normal'] as const;
export type SchedPolicy = (typeof SCHED_POLICIES)[number];

const POLICY_NUMBER: Record<SchedPolicy, number> = { normal: 0, batch: 3, idle: 5 };

/** The kernel's policy number of a task (0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE), from /proc. */
export function schedPolicyOf(pid: number): number | undefined {
  try {
    const m = /^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves every thread of this process to `policy`; bpftrace, started later, inherits it.
 * The agent and bpftrace wake for every event a function emits; as SCHED_OTHER tasks that
 * wake-up often preempts the function on its own CPU. SCHED_BATCH and SCHED_IDLE tasks never
 * preempt on wake-up; they run on an idle CPU or when the function blocks.
 * Resolves to undefined when done, else to why not (the agent then runs as it was).
 */
export async function applySchedPolicy(policy: SchedPolicy, pid = process.pid): Promise<string | undefined> {
  if (policy === 'normal') return undefined;
  const r = await execa('chrt', [`--${policy}`, '--all-tasks', '--pid', '0', String(pid)], { reject: false, timeout: 10000 });
  if (r.exitCode !== 0) return String(r.stderr || r.message).trim().split('\n')[0] ?? 'chrt failed';
  const now = schedPolicyOf(pid);
  return now === POLICY_NUMBER[policy] ? undefined : `the kernel reports policy ${now} after chrt`;
}
