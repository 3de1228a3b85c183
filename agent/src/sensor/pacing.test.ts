import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { OutputPacer, wchanOf } from './pacing.js';

/** The task's state letter (S sleeping, R running, T stopped) from /proc. */
function state(pid: number): string {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(2);
  }
}

function child(code: string): ChildProcess {
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

/** Samples the child's state every ms for a while. */
async function sample(pid: number, ms: number): Promise<string[]> {
  const out: string[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    out.push(state(pid));
    await sleep(1);
  }
  return out;
}

describe('OutputPacer', () => {
  let c: ChildProcess | undefined;
  afterEach(() => {
    if (c?.pid) {
      try {
        process.kill(c.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      c.kill('SIGKILL');
    }
    c = undefined;
  });

  it('stops a process that waits in epoll between runs once output flows, lets it run every period, and leaves it running when stopped', async () => {
    // An idle event loop: its main thread sleeps in epoll_wait, as bpftrace does between records.
    c = child('setInterval(() => {}, 1000)');
    await until(() => /epoll/.test(wchanOf(c!.pid!)));
    const p = new OutputPacer(c.pid!, { periodMs: 20, quietPeriods: 1000 });
    // Flushes of an idle bpftrace (one byte each) start nothing.
    for (let i = 0; i < 20; i++) p.output(1);
    expect((await sample(c.pid!, 100)).every((s) => s !== 'T')).toBe(true);
    expect(p.stats.starts).toBe(0);
    p.output(4096);
    const feed = setInterval(() => p.output(2048), 20);
    const states = await sample(c.pid!, 400);
    clearInterval(feed);
    p.stop();
    expect(p.stats.starts).toBe(1);
    expect(states.filter((s) => s === 'T').length).toBeGreaterThan(states.length / 3);
    expect(states.some((s) => s !== 'T')).toBe(true); // let run each period
    expect(p.stats.pauses).toBeGreaterThan(3);
    await until(() => state(c!.pid!) !== 'T', 2000);
    expect((await sample(c.pid!, 100)).every((s) => s !== 'T')).toBe(true);
  });

  it('stops pacing after a quiet spell, and starts again when output grows', async () => {
    c = child('setInterval(() => {}, 1000)');
    await until(() => /epoll/.test(wchanOf(c!.pid!)));
    const p = new OutputPacer(c.pid!, { periodMs: 10, quietPeriods: 5 });
    p.output(4096);
    await until(() => p.stats.pauses > 0);
    // No more output: after five quiet periods it runs for good.
    await sleep(400);
    expect((await sample(c.pid!, 100)).every((s) => s !== 'T')).toBe(true);
    const paused = p.stats.pauses;
    p.output(4096);
    await until(() => p.stats.pauses > paused);
    expect(p.stats.starts).toBe(2);
    p.stop();
  });

  it('never stops a process that is working, nor one whose output is heavy', async () => {
    c = child('for (;;) {}');
    await until(() => state(c!.pid!) === 'R');
    const busy = new OutputPacer(c.pid!, { periodMs: 10, quietPeriods: 1000 });
    busy.output(4096);
    const a = await sample(c.pid!, 200);
    busy.stop();
    expect(a.every((s) => s !== 'T')).toBe(true);
    expect(busy.stats.pauses).toBe(0);
    expect(busy.stats.busy).toBeGreaterThan(3);
    c.kill('SIGKILL');

    c = child('setInterval(() => {}, 1000)');
    await until(() => /epoll/.test(wchanOf(c!.pid!)));
    const heavy = new OutputPacer(c.pid!, { periodMs: 10, busyBytes: 1000 });
    heavy.output(5000);
    const feed = setInterval(() => heavy.output(5000), 2);
    const b = await sample(c.pid!, 200);
    clearInterval(feed);
    heavy.stop();
    expect(b.every((s) => s !== 'T')).toBe(true);
    expect(heavy.stats.pauses).toBe(0);
  });

  it('refuses a bad period and goes quiet once the process is gone', async () => {
    expect(() => new OutputPacer(1, { periodMs: 0 })).toThrow(/period/);
    c = child('setInterval(() => {}, 1000)');
    await until(() => /epoll/.test(wchanOf(c!.pid!)));
    const sent: string[] = [];
    const p = new OutputPacer(c.pid!, { periodMs: 10 }, (pid, sig) => {
      sent.push(sig);
      throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
    });
    p.output(4096);
    await sleep(100);
    p.stop();
    expect(sent).toEqual(['SIGSTOP']);
  });
});
