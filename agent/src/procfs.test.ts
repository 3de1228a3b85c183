import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { describeInstance } from './procfs.js';

describe('describeInstance', () => {
  it('reads nothing of a root that has exited, and says so', () => {
    const gone = spawnSync('/bin/true').pid!;
    expect(describeInstance(gone)).toEqual({ unread: 'exited' });
  });

  it('reads nothing of a pid that belongs to a process started after the exec (a reused pid)', () => {
    expect(describeInstance(process.pid, undefined, 0n)).toEqual({ unread: 'exited' });
  });

  it('reads a live root', () => {
    const facts = describeInstance(process.pid, undefined, process.hrtime.bigint());
    expect(facts.unread).toBeUndefined();
    expect(facts.cgroupPath).toBeDefined();
  });
});
