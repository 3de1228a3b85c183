/**
 * faasprov functions up/down on a real faas-cli stack: faas-cli new and build --shrinkwrap, the real
 * of-watchdog in one network namespace per instance, our gateway in front (needs root).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { faasprov, ROOT, tempDir } from './helpers.js';
import { until } from './agent-harness.js';
import { addTemplates, ensureOpenfaasTools, faasCli, Stack } from './openfaas-harness.js';

interface Answer {
  hostname: string;
  function: string;
  greeting: string;
  mode: string;
  netns: string;
  callId: string;
  startTime: string;
  path: string;
  body: string;
}

const FIXTURES = join(ROOT, 'test', 'fixtures', 'openfaas');

async function netnsList(): Promise<string[]> {
  return (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}
async function links(): Promise<string[]> {
  return (await execa('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(': ')[1]!.split('@')[0]!);
}

describe('faasprov functions up/down', () => {
  let dir: string;
  let stack: Stack;
  beforeAll(async () => {
    await ensureOpenfaasTools();
    dir = tempDir('fp-functions-');
    addTemplates(dir, FIXTURES, ['python3-stdlib']);
    const r = await faasCli(dir, ['new', '--lang', 'python3-stdlib', 'hello']);
    expect(r.exitCode).toBe(0);
    appendFileSync(join(dir, 'stack.yaml'), '    environment:\n      GREETING: from-the-stack\n');
    stack = new Stack(dir, ['--scale', '2']);
    await stack.up();
  }, 300000);
  afterAll(async () => {
    if (stack?.stateExists()) await stack.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60000);

  it('builds with faas-cli build --shrinkwrap and runs each instance under of-watchdog in a namespace of its own', async () => {
    expect(existsSync(join(dir, 'build', 'hello', 'Dockerfile'))).toBe(true);
    const [fn] = stack.info!.functions;
    expect(fn!.name).toBe('hello');
    expect(fn!.instances).toHaveLength(2);
    const addrs = fn!.instances.map((i) => i.address);
    expect(new Set(addrs).size).toBe(2);
    for (const a of addrs) expect(a).toMatch(/^10\.213\.\d+\.\d+$/);
    const ns = await netnsList();
    for (const i of fn!.instances) {
      expect(ns).toContain(i.netns);
      expect(readFileSync(`/proc/${i.pid}/comm`, 'utf8').trim()).toBe('of-watchdog');
      // No default route: an instance reaches its stack's bridge and nothing else.
      expect((await execa('ip', ['-n', i.netns, 'route', 'show', 'default'])).stdout.trim()).toBe('');
    }
    expect(stack.log('hello', 0)).toContain('Watchdog mode: http');
  });

  it('routes /function/NAME round-robin with X-Call-Id and X-Start-Time, the Dockerfile and stack environment applied', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(stack.url('/function/hello/some/path?q=1'), { method: 'POST', body: `call ${i}`, headers: i === 0 ? { 'x-call-id': 'chosen-by-client' } : {} });
      expect(r.status).toBe(200);
      const a = (await r.json()) as Answer;
      expect(a.callId).toBe(r.headers.get('x-call-id'));
      answers.push(a);
    }
    expect(answers[0]!.callId).toBe('chosen-by-client');
    expect(new Set(answers.map((a) => a.callId)).size).toBe(4);
    expect(answers.map((a) => a.hostname)).toEqual(['hello-0', 'hello-1', 'hello-0', 'hello-1']);
    const ownNs = (await execa('readlink', ['/proc/self/ns/net'])).stdout.trim();
    expect(new Set(answers.map((a) => a.netns)).size).toBe(2);
    expect(answers.map((a) => a.netns)).not.toContain(ownNs);
    for (const a of answers) {
      expect(a).toMatchObject({ function: 'hello', greeting: 'from-the-stack', mode: 'http', path: '/some/path?q=1' });
      expect(Number(BigInt(a.startTime) / 1_000_000n)).toBeGreaterThan(Date.now() - 60000);
    }
    expect(answers.map((a) => a.body)).toEqual(['call 0', 'call 1', 'call 2', 'call 3']);
  });

  it('lets a function call another through gateway.openfaas:8080, as in a cluster', async () => {
    const r = await fetch(stack.url('/function/hello/via-gateway'), { method: 'POST', body: 'outer' });
    expect(r.status).toBe(200);
    const inner = (await r.json()) as Answer;
    expect(inner).toMatchObject({ function: 'hello', path: '/whoami', body: 'inner' });
    expect(inner.callId).not.toBe(r.headers.get('x-call-id'));
  });

  it('queues /async-function/NAME and calls back with the result and the same call id', async () => {
    const got: { headers: IncomingHttpHeaders; body: string }[] = [];
    const cb: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { got.push({ headers: req.headers, body }); res.end(); });
    });
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (cb.address() as { port: number }).port;
      const r = await fetch(stack.url('/async-function/hello'), { method: 'POST', body: 'later', headers: { 'x-callback-url': `http://127.0.0.1:${port}/done` } });
      expect(r.status).toBe(202);
      const callId = r.headers.get('x-call-id');
      await until('the callback', () => got.length === 1, 20000);
      expect(got[0]!.headers['x-call-id']).toBe(callId);
      expect(got[0]!.headers['x-function-status']).toBe('200');
      expect(JSON.parse(got[0]!.body)).toMatchObject({ callId, body: 'later' });
    } finally {
      cb.close();
    }
  });

  it('restarts an instance whose watchdog died, at the same address, as a pod\'s container is restarted', async () => {
    const stateFile = join(dir, '.faasprov', 'functions.json');
    const pidOf = () => (JSON.parse(readFileSync(stateFile, 'utf8')) as { instances: { index: number; pid: number }[] }).instances.find((i) => i.index === 0)!.pid;
    const before = pidOf();
    process.kill(before, 'SIGKILL');
    await until('a new watchdog for hello-0', () => pidOf() !== before && existsSync(`/proc/${pidOf()}`), 20000);
    expect(readFileSync(`/proc/${pidOf()}/comm`, 'utf8').trim()).toBe('of-watchdog');
    // Both replicas answer again once the new one listens.
    await until('hello-0 answering', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const r = await fetch(stack.url('/function/hello'), { method: 'POST', body: 'x' });
        if (r.status === 200) seen.add(((await r.json()) as Answer).hostname);
      }
      return seen.has('hello-0') && seen.has('hello-1');
    }, 30000);
    expect(stack.stderr).toContain('hello-0 exited (SIGKILL); restarting it');
    stack.info!.functions[0]!.instances[0]!.pid = pidOf();
  }, 60000);

  it('answers 404 for a function the stack does not have', async () => {
    expect((await fetch(stack.url('/function/nope'))).status).toBe(404);
  });

  it('refuses a second up of the same stack, changing nothing', async () => {
    const before = await netnsList();
    const r = await faasprov(['functions', 'up', '-f', 'stack.yaml', '--no-build', '--gateway', '127.0.0.1:0'], { cwd: dir });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('FP_ERR_FUNCTIONS_RUNNING');
    expect(await netnsList()).toEqual(before);
  });

  it('functions down removes the instances, namespaces, veths and bridge, also after up was killed', async () => {
    const { functions } = stack.info!;
    const names = functions[0]!.instances.map((i) => i.netns);
    const subnet = names[0]!.match(/^fp(\d+)-/)![1];
    stack.proc!.kill('SIGKILL');
    await stack.proc;
    // up is gone; its instances are still running and their namespaces still there
    expect(await netnsList()).toEqual(expect.arrayContaining(names));
    const out = await stack.down();
    expect(out).toContain('cleaning up after a functions up that is gone');
    expect(await netnsList()).toEqual(expect.not.arrayContaining(names));
    expect((await links()).filter((l) => l === `fpbr${subnet}` || l.startsWith(`fpv${subnet}-`))).toEqual([]);
    for (const i of functions[0]!.instances) expect(existsSync(`/proc/${i.pid}`)).toBe(false);
    expect(stack.stateExists()).toBe(false);
  }, 60000);

  it('rejects a missing stack file with its code, creating nothing', async () => {
    const before = await netnsList();
    const r = await faasprov(['functions', 'up', '-f', join(dir, 'missing.yaml')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('FP_ERR_STACK_INVALID');
    expect(await netnsList()).toEqual(before);
  });
});
