import { describe, expect, it, afterAll } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { schedPolicyOf } from '@faasprov/agent';
import { Agent, Collector, fakeWatchdog, freePort, readStore, spoolLines, until } from './agent-harness.js';
import { pythonExe, tempDir } from './helpers.js';

// Real bpftrace, real collector over HTTP, real processes: the node agent as it runs for hours.
describe('faasprov agent (real bpftrace)', () => {
  const dirs: string[] = [];
  const children: { kill(): void }[] = [];
  const fresh = () => {
    const d = tempDir('fp-agent-');
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const c of children) c.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A watched workload that writes DIR/k-1..k-N, one file per step. */
  const writer = (wd: string, dir: string, n: number, pause = '0.05') =>
    execa(wd, ['-c', `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo $i > ${dir}/k-$i; sleep ${pause}; done`], { reject: false });

  it('watches whole trees (children, grandchildren, threads, trees older than the agent) and nothing else', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwdscope');
    const collector = new Collector(join(dir, 's.db'), await freePort());
    await collector.start();
    const py = await pythonExe();
    const waitGo = `while [ ! -e ${dir}/go ]; do sleep 0.1; done`;
    // Started before the agent: the root and a child that already runs.
    const pre = execa(wd, ['-c', `sh -c '${waitGo}; echo c > ${dir}/pre-child.txt; sh -c "echo g > ${dir}/pre-grandchild.txt"' ; ${waitGo}; echo r > ${dir}/pre-root.txt`], {
      reject: false,
      env: { FAASPROV_FUNCTION: 'fn-pre' },
    });
    const outside = execa('sh', ['-c', `${waitGo}; echo o > ${dir}/outside.txt; cat /etc/hostname > ${dir}/outside-2.txt`], { reject: false });
    children.push(pre, outside);
    await until('the pre-existing tree', () => readdirSync('/proc').some((p) => /^\d+$/.test(p) && (() => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'fpwdscope'; } catch { return false; } })()));
    const agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdscope', await freePort());
    await agent.start();
    // The agent and its bpftrace run as SCHED_BATCH (3): their wake-ups never preempt a function.
    const sensorPid = Number(readdirSync(`/proc/${agent.proc!.pid}/task`).flatMap((t) => readFileSync(`/proc/${agent.proc!.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)).filter(Boolean)
      .find((c) => readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'bpftrace'));
    expect([schedPolicyOf(agent.proc!.pid!), schedPolicyOf(sensorPid)]).toEqual([3, 3]);
    writeFileSync(join(dir, 'go'), '');
    const threadCode = `import threading; t=threading.Thread(target=lambda: open("${dir}/post-thread.txt","w").write("t")); t.start(); t.join()`;
    // The root outlives the output pacer's period (50 ms) and the agent's wake-up on a loaded
    // machine: its function name is read from /proc when the agent sees its exec (a fresh check failed once
    // with the root gone by then, 2026-12-01; a root shorter than that has no function name).
    const post = await execa(wd, ['-c', `echo r > ${dir}/post-root.txt; sh -c "echo g > ${dir}/post-grandchild.txt"; ${py} -c '${threadCode}'; sleep 0.3`], {
      reject: false,
      env: { FAASPROV_FUNCTION: 'fn-post' },
    });
    expect(post.exitCode).toBe(0);
    await pre;
    await outside;
    await until('the agent to ship', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0 && readStore(collector.store).filesUnder(dir).length >= 6);
    await agent.stop();
    await collector.stop();
    const s = readStore(collector.store);
    const paths = s.filesUnder(dir).map((f) => f.path.slice(dir.length + 1)).sort();
    for (const want of ['pre-child.txt', 'pre-grandchild.txt', 'pre-root.txt', 'post-root.txt', 'post-grandchild.txt', 'post-thread.txt']) {
      expect(paths).toContain(want);
    }
    expect(paths).not.toContain('outside.txt');
    expect(paths).not.toContain('outside-2.txt');
    const procs = s.nodes.filter((n) => n.type === 'Process') as unknown as { argv: string[] }[];
    expect(procs.some((p) => p.argv.join(' ').includes('outside'))).toBe(false);
    const instances = s.nodes.filter((n) => n.type === 'Instance') as unknown as { function?: string; rootPid: number }[];
    expect(instances.map((i) => i.function).sort()).toEqual(['fn-post', 'fn-pre']);
    // Every process is associated with its instance.
    const assoc = new Set(s.edges.filter((e) => e.type === 'WAS_ASSOCIATED_WITH').map((e) => e.src));
    expect(s.nodes.filter((n) => n.type === 'Process').every((p) => assoc.has(p.id))).toBe(true);
  });

  it('names an instance whose root exits at once from the environment the kernel copied at its exec; marks and counts what it could not read', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwdshort');
    const keys = { s: 'short-key-team-s-0123456789abcdef', admin: 'short-key-admin-0123456789abcdef' };
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([
      { name: 's', role: 'investigator', tenants: ['team-s'], key: keys.s },
      { name: 'root', role: 'admin', tenants: '*', key: keys.admin },
    ]));
    const collector = new Collector(join(dir, 's.db'), await freePort(), ['--api-keys', join(dir, 'keys.json')]);
    await collector.start();
    const agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdshort', await freePort());
    await agent.start();
    // Each root writes one file and exits within a millisecond. The agent is stopped meanwhile (a
    // real delay, as pacing and a loaded machine make one): when it looks, /proc has nothing left.
    const roots = {
      named: { FAASPROV_FUNCTION: 'fn-short', FAASPROV_NAMESPACE: 'team-s' },
      // The names lie past the 3,040 bytes the kernel copies: nothing is guessed.
      cut: { PAD: 'p'.repeat(3100), FAASPROV_FUNCTION: 'fn-cut', FAASPROV_NAMESPACE: 'team-c' },
    };
    process.kill(agent.proc!.pid!, 'SIGSTOP');
    try {
      for (const [name, env] of Object.entries(roots)) {
        const r = await execa(wd, ['-c', `echo r > ${dir}/short-${name}.txt`], { reject: false, extendEnv: false, env: { PATH: process.env.PATH, ...env } });
        expect(r.exitCode).toBe(0);
      }
    } finally {
      process.kill(agent.proc!.pid!, 'SIGCONT');
    }
    await until('the agent to ship', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0 && readStore(collector.store).filesUnder(dir).length >= 2);
    const counted = [await agent.metric('faasprov_agent_instance_facts_unread_total'), await agent.metric('faasprov_agent_instance_named_from_exec_total')];
    // What the instance of unknown tenant wrote is no tenant's to see (deny by default); the admin sees it.
    const listed = async (key: string) => {
      const r = await fetch(`${collector.url}/api/v1/nodes?q=short-&limit=500`, { headers: { authorization: `Bearer ${key}` } });
      return ((await r.json()) as { nodes: { path?: string }[] }).nodes.map((n) => n.path).filter((p) => p?.startsWith(dir)).sort();
    };
    expect(await listed(keys.s)).toEqual([join(dir, 'short-named.txt')]);
    expect(await listed(keys.admin)).toEqual([join(dir, 'short-cut.txt'), join(dir, 'short-named.txt')]);
    const log = await agent.stop();
    await collector.stop();
    const s = readStore(collector.store);
    const instances = s.nodes.filter((n) => n.type === 'Instance');
    const rootOf = (file: string) => {
      const f = s.nodes.find((n) => n.type === 'File' && n.path === join(dir, file))!;
      const proc = s.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.src === f.id)!.dst;
      return { file: f, instance: instances.find((i) => s.edges.some((e) => e.type === 'WAS_ASSOCIATED_WITH' && e.src === proc && e.dst === i.id))! };
    };
    const named = rootOf('short-named.txt');
    expect(named.instance).toMatchObject({ function: 'fn-short', tenant: 'team-s', factsUnread: 'exited', envFrom: 'exec' });
    expect(named.file.tenant).toBe('team-s');
    const cut = rootOf('short-cut.txt');
    expect(cut.instance).toMatchObject({ factsUnread: 'exited', envFrom: 'exec', envTruncated: true });
    expect(cut.file.tenantUnknown).toBe(true);
    expect([cut.instance.function, cut.instance.tenant]).toEqual([undefined, undefined]);
    expect(counted).toEqual([2, 1]);
    // One summary line, not one per instance.
    expect(log.split('\n').filter((l) => l.includes('root had exited before /proc was read'))).toEqual([
      expect.stringContaining('2 instances whose root had exited before /proc was read (Instance.factsUnread): 1 named from the environment the kernel copied at the exec, 1 without a function name'),
    ]);
  });

  it('after kill -9 and a restart, every spooled batch is stored exactly once, and the downtime is a Gap', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwdkill');
    const collector = new Collector(join(dir, 's.db'), await freePort());
    await collector.start();
    const spool = join(dir, 'spool');
    const agent = new Agent(collector.url, spool, 'fpwdkill', await freePort());
    await agent.start();
    const work = writer(wd, dir, 300, '0.1');
    children.push(work);
    await until('some batches acked', async () => (await agent.metric('faasprov_agent_batches_acked_total')) >= 3);
    await agent.kill9();
    const killedAt = Date.now() * 1000;
    // What the dead agent left on disk: the batches it spooled and the last it had acknowledged.
    const segs = readdirSync(spool).filter((f) => f.startsWith('seg-'));
    const spooled = spoolLines(spool, segs).flatMap((l) => { try { return [JSON.parse(l) as { seq: number; edges: { id: string }[] }]; } catch { return []; } });
    await new Promise((r) => setTimeout(r, 3000));
    const again = new Agent(collector.url, spool, 'fpwdkill', agent.metricsPort);
    await again.start();
    await work;
    await until('the spool to drain', async () => (await again.metric('faasprov_agent_spool_pending_batches')) === 0 && (await again.metric('faasprov_agent_batches_acked_total')) >= 1);
    await again.stop();
    await collector.stop();
    const s = readStore(collector.store);
    const stored = new Set(s.batches.map((b) => `${b.agent}#${b.seq}`));
    const agentId = JSON.parse(readFileSync(join(spool, 'meta.json'), 'utf8')).agent as string;
    for (const b of spooled) expect(stored.has(`${agentId}#${b.seq}`)).toBe(true);
    const edgeIds = new Set(s.edges.map((e) => e.id));
    for (const b of spooled) for (const e of b.edges) expect(edgeIds.has(e.id)).toBe(true);
    const down = s.gaps.filter((g) => g.cause === 'agent-down');
    expect(down).toHaveLength(1);
    expect(down[0]!.from).toBeLessThanOrEqual(killedAt);
    expect(down[0]!.to).toBeGreaterThanOrEqual(killedAt);
    // Exactly once: each file written once by the workload carries exactly one write. The one step
    // cut by the kill (its open spooled, its write still in the dead agent's memory) or by the
    // re-attach may show its open alone, and only inside the downtime the Gap declares.
    const files = s.filesUnder(dir).filter((f) => /\/k-\d+$/.test(f.path));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(f.writes).toBeLessThanOrEqual(1);
    const cut = files.filter((f) => f.writes === 0);
    expect(cut.length).toBeLessThanOrEqual(2);
    for (const f of cut) {
      expect(f.firstTime).toBeGreaterThanOrEqual(down[0]!.from - 1_000_000);
      expect(f.firstTime).toBeLessThanOrEqual(down[0]!.to);
    }
    // Two bpftrace attaches (tens of seconds each on a loaded machine).
  }, 240000);

  it('with the collector down for 20 s, nothing is missing and nothing is doubled', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwddown');
    const port = await freePort();
    const collector = new Collector(join(dir, 's.db'), port);
    await collector.start();
    const agent = new Agent(collector.url, join(dir, 'spool'), 'fpwddown', await freePort());
    await agent.start();
    const n = 250;
    const work = writer(wd, dir, n, '0.1');
    children.push(work);
    await until('first batches', async () => (await agent.metric('faasprov_agent_batches_acked_total')) >= 2);
    await collector.stop();
    await new Promise((r) => setTimeout(r, 20000));
    expect(await agent.metric('faasprov_agent_ship_retries_total')).toBeGreaterThan(0);
    await collector.start();
    await work;
    await until('the spool to drain', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0, 60000);
    await agent.stop();
    await collector.stop();
    const s = readStore(collector.store);
    const files = s.filesUnder(dir).filter((f) => /\/k-\d+$/.test(f.path));
    const names = new Set(files.map((f) => Number(f.path.split('-').at(-1))));
    for (let i = 1; i <= n; i++) expect(names.has(i)).toBe(true);
    for (const f of files) expect(f.writes).toBe(1);
    expect(s.gaps.filter((g) => g.cause !== 'agent-down')).toEqual([]);
  });

  it('turns perf-buffer overflow into Gap nodes whose counts match what bpftrace reported', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwdburst');
    const collector = new Collector(join(dir, 's.db'), await freePort());
    await collector.start();
    const agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdburst', await freePort(), ['--perf-pages', '1']);
    await agent.start();
    const py = await pythonExe();
    // A tight open/read/close loop, bounded to 3 s.
    const burst = `import os, time\nend = time.time() + 3\nwhile time.time() < end:\n    fd = os.open("/etc/hostname", os.O_RDONLY); os.read(fd, 64); os.close(fd)\n`;
    const r = await execa(wd, ['-c', `${py} -c '${burst}'`], { reject: false });
    expect(r.exitCode).toBe(0);
    // bpftrace reports its ring buffer's drops as it reads it: on a loaded machine it is still
    // catching up after the burst, so the count is taken once it has stopped growing.
    let reported = -1;
    await until('the loss count to settle', async () => {
      await new Promise((res) => setTimeout(res, 2000));
      const now = await agent.metric('faasprov_agent_events_lost_total', 'cause="perf-buffer-overflow"');
      const settled = now === reported;
      reported = now;
      return settled;
    }, 60000);
    await until('the spool to drain', async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0);
    await agent.stop();
    await collector.stop();
    expect(reported).toBeGreaterThan(0);
    const gaps = readStore(collector.store).gaps.filter((g) => g.cause === 'perf-buffer-overflow');
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps.reduce((a, g) => a + g.count, 0)).toBe(reported);
  });

  it('detects a spooled batch edited on disk', async () => {
    const dir = fresh();
    const wd = fakeWatchdog(dir, 'fpwdtamper');
    const spool = join(dir, 'spool');
    const port = await freePort();
    // No collector yet: batches stay in the spool. Short batches, so the writer's steps span several.
    const agent = new Agent(`http://127.0.0.1:${port}`, spool, 'fpwdtamper', await freePort(), ['--batch-interval', '100']);
    await agent.start();
    const r = await writer(wd, dir, 5, '0.05');
    expect(r.exitCode).toBe(0);
    await until('batches spooled', async () => (await agent.metric('faasprov_agent_batches_spooled_total')) >= 2);
    await agent.kill9();
    const seg = readdirSync(spool).filter((f) => f.startsWith('seg-')).sort()[0]!;
    const file = join(spool, seg);
    const text = readFileSync(file, 'utf8');
    // Change a byte count: still a valid batch, but no longer the one that was hashed.
    expect(text).toMatch(/"bytes":\d+/);
    writeFileSync(file, text.replace(/"bytes":(\d+)/, (_m, n: string) => `"bytes":${Number(n) + 1000}`));
    const collector = new Collector(join(dir, 's.db'), port);
    await collector.start();
    const again = new Agent(collector.url, spool, 'fpwdtamper', agent.metricsPort);
    await again.start();
    await until('the spool to drain', async () => (await again.metric('faasprov_agent_spool_pending_batches')) === 0);
    await again.stop();
    await collector.stop();
    const gaps = readStore(collector.store).gaps.filter((g) => g.cause === 'tamper-or-loss');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.detail).toContain('does not match its hash');
    expect(existsSync(file)).toBe(false); // acknowledged, so the segment is gone
  }, 240000);
});
