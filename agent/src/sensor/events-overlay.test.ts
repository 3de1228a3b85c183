import { describe, expect, it } from '@jest/globals';
import { eventsFor } from './events-overlay.js';
import { buildProgram } from './program.js';

const AVAILABLE = ['syscalls:sys_enter_openat', 'syscalls:sys_exit_openat', 'syscalls:sys_enter_open', 'sched:sched_process_exec', 'sched:sched_process_fork', 'raw_syscalls:sys_enter', 'task:task_newtask'].join('\n');

describe('eventsFor (the available_events bpftrace is given)', () => {
  it("keeps exactly the lines of the program's tracepoints, a raw tracepoint by its event name", () => {
    const p = 'rawtracepoint:sched_process_exec { }\ntracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_exit_openat /@t[pid]/ { }\n// tracepoint:task:task_newtask in a comment is harmless';
    expect(eventsFor(p, AVAILABLE)).toBe('syscalls:sys_enter_openat\nsyscalls:sys_exit_openat\nsched:sched_process_exec\ntask:task_newtask\n');
  });

  it('gives up on a wildcard (bpftrace must see every event to expand it)', () => {
    expect(eventsFor('tracepoint:syscalls:sys_enter_* { }', AVAILABLE)).toBeUndefined();
  });

  it('keeps every tracepoint of the real program that the kernel has', () => {
    const program = buildProgram({ scope: { kind: 'launcher', rootPid: 5 }, countRaw: true });
    const names = new Set([...program.matchAll(/\btracepoint:(\w+:\w+)/g)].map((m) => m[1]));
    const kept = new Set(eventsFor(program, [...names, 'sched:sched_process_exec', 'syscalls:sys_enter_futex'].join('\n'))!.trim().split('\n'));
    expect(kept).toEqual(new Set([...names, 'sched:sched_process_exec']));
  });
});
