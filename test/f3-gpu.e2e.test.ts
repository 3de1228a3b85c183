import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Agent, Collector, fakeWatchdog, freePort, readStore, until } from './agent-harness.js';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import { faasprov, ROOT, tempDir } from './helpers.js';

type Node = { id: string; type: string; [k: string]: unknown };
const PY = join(ROOT, '.tools/pyvenv/bin/python');
const TOKEN_B = 'node-b-test-token-0123456789abcdef';
const FN = join(ROOT, 'test/fixtures/f3_gpu_function.py');
/** The real CUDA runtime from PyPI (nvidia-cuda-runtime-cu12, installed by make py-deps). */
function cudart(): string {
  const site = join(ROOT, '.tools/pyvenv/lib');
  for (const py of readdirSync(site)) {
    const p = join(site, py, 'site-packages/nvidia/cuda_runtime/lib/libcudart.so.12');
    if (existsSync(p)) return p;
  }
  throw new Error('libcudart.so.12 not found: run make py-deps');
}

// Real mounts (tmpfs for the ephemeral tier, a bindfs FUSE mount standing for F3's FUSE client on
// the durable tier), real bpftrace with uprobes on the real CUDA runtime, real collector.
describe('F3 volumes and GPU calls (real mounts, real libcudart)', () => {
  let dir: string;
  let eph: string;
  let durable: string;
  let backing: string;
  let collector: Collector;
  let agent: Agent;
  let wdA: string;
  let wdB: string;
  let lib: string;
  let guest: string;
  let gpuServer: ReturnType<typeof execa>;
  let gpuServerAt: string;
  const mounted: string[] = [];

  beforeAll(async () => {
    dir = tempDir('fp-f3-');
    eph = join(dir, 'eph');
    durable = join(dir, 'durable');
    backing = join(dir, 'backing');
    for (const d of [eph, durable, backing]) mkdirSync(d);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', eph]);
    mounted.push(eph);
    await execa('bindfs', [backing, durable]);
    mounted.push(durable);
    lib = cudart();
    // The API-remoting stand-ins (test/fixtures/gpu-remoting): a guest library built here, a GPU server.
    guest = join(dir, 'libgpuguest.so');
    await execa('gcc', ['-shared', '-fPIC', '-O1', '-o', guest, join(ROOT, 'test/fixtures/gpu-remoting/guest.c')]);
    gpuServerAt = `127.0.0.1:${await freePort()}`;
    gpuServer = execa(PY, [join(ROOT, 'test/fixtures/gpu-remoting/server.py'), gpuServerAt.split(':')[1]!], { reject: false, buffer: false });
    await new Promise<void>((resolve) => gpuServer.stdout!.once('data', () => resolve()));
    wdA = fakeWatchdog(dir, 'fpwdf3a');
    wdB = fakeWatchdog(dir, 'fpwdf3b');
    collector = new Collector(join(dir, 's.db'), await freePort(), ['--agent-token', `node-b=${TOKEN_B}`]);
    await collector.start();
    agent = new Agent(collector.url, join(dir, 'spool'), 'fpwdf3a,fpwdf3b', await freePort(), [
      '--volume', `${eph}=scratch:ephemeral`,
      // The durable volume is found in /proc/mounts by its file-system type (bindfs shows as fuse).
      '--volume-fstype', 'fuse=durable',
      '--gpu-lib', lib,
      '--gpu-lib', guest,
      '--gpu-server', gpuServerAt,
    ]);
    await agent.start();
  }, 120000);

  afterAll(async () => {
    await agent?.stop();
    await collector?.stop();
    gpuServer?.kill();
    for (const m of mounted.reverse()) await execa('umount', [m], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the fixture as function NAME under watchdog wd (its own instance). */
  const fn = (wd: string, name: string, args: string[], tenant?: string) =>
    // A real watchdog outlives its handler; the stand-in waits a moment so that /proc still shows
    // its environment (function, tenant) when the agent reads it.
    execa(wd, ['-c', `sleep 0.2; exec ${PY} ${FN} "$@"`, 'fn', ...args], {
      env: { FAASPROV_FUNCTION: name, FAASPROV_TEST_GPU_SERVER: gpuServerAt, ...(tenant ? { FAASPROV_NAMESPACE: tenant } : {}) },
      reject: false,
    });

  const settle = async (what: string, ok: (s: ReturnType<typeof readStore>) => boolean) => {
    await until(what, async () => (await agent.metric('faasprov_agent_spool_pending_batches')) === 0 && ok(readStore(collector.store)), 60000);
    return readStore(collector.store);
  };
  const unitOf = (s: ReturnType<typeof readStore>, callId: string) => s.nodes.find((n) => n.type === 'Unit' && n.callId === callId) as Node | undefined;

  it('a file written by function A and read by function B on a volume is one File version, with volume and tier', async () => {
    for (const [vol, tier] of [[eph, 'ephemeral'], [durable, 'durable']] as const) {
      const path = join(vol, `shared-${tier}.txt`);
      expect((await fn(wdA, 'fn-a', ['write', path, `a-${tier}`])).exitCode).toBe(0);
      const r = await fn(wdB, 'fn-b', ['read', path, `b-${tier}`]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('payload');
    }
    const s = await settle('both reads', (s) => !!unitOf(s, 'b-durable') && !!unitOf(s, 'b-ephemeral') && s.edges.some((e) => e.type === 'USED' && e.src === unitOf(s, 'b-durable')!.id && e.attrs !== undefined));
    const volumeId = backing.slice(1);
    for (const [tier, volume] of [['ephemeral', 'scratch'], ['durable', volumeId]] as const) {
      const files = s.nodes.filter((n) => n.type === 'File' && n.path === `/shared-${tier}.txt`) as Node[];
      // One version: made by A's unit, used by B's unit; keyed by volume, not by the mount point.
      expect(files).toHaveLength(1);
      const f = files[0]!;
      expect(f).toMatchObject({ volume, tier, node: 'node-test' });
      expect(f.version).toBeGreaterThan(0);
      const a = unitOf(s, `a-${tier}`)!;
      const b = unitOf(s, `b-${tier}`)!;
      expect(s.edges.some((e) => e.type === 'WAS_GENERATED_BY' && e.src === f.id && e.dst === a.id && e.bytes === 7)).toBe(true);
      expect(s.edges.some((e) => e.type === 'USED' && e.src === b.id && e.dst === f.id && e.bytes === 7)).toBe(true);
      // The units belong to their invocations, of two different function instances.
      const inv = (u: Node) => s.edges.find((e) => e.type === 'PART_OF' && e.src === u.id)?.dst;
      expect(s.nodes.find((n) => n.id === inv(a))).toMatchObject({ type: 'Invocation', callId: `a-${tier}`, function: 'fn-a' });
      expect(s.nodes.find((n) => n.id === inv(b))).toMatchObject({ type: 'Invocation', callId: `b-${tier}`, function: 'fn-b' });
    }
  });

  it('a read that overlaps an open writer is readWhileWrite; a read after the close is not', async () => {
    const path = join(durable, 'stream.log');
    const ready = join(dir, 'writer-ready');
    const writer = fn(wdA, 'fn-w', ['slow-write', path, 'w-1', ready]);
    await until('the writer to start writing', () => existsSync(ready), 30000);
    const during = await fn(wdB, 'fn-r', ['read', path, 'r-during']);
    expect(during.stdout).toBe('part-1'); // execa drops the final newline
    expect((await writer).exitCode).toBe(0);
    const after = await fn(wdB, 'fn-r', ['read', path, 'r-after']);
    expect(after.stdout).toBe('part-1\npart-2');
    const s = await settle('both readers', (s) => !!unitOf(s, 'r-after') && !!unitOf(s, 'r-during'));
    const file = s.nodes.find((n) => n.type === 'File' && n.path === '/stream.log') as Node;
    const readBy = (callId: string) => s.edges.find((e) => e.type === 'USED' && e.src === unitOf(s, callId)!.id && e.dst === file.id)!;
    expect(readBy('r-during').attrs).toMatchObject({ readWhileWrite: true });
    expect(readBy('r-after').attrs.readWhileWrite).toBeUndefined();
  });

  it('ephemeral files removed by the end of their invocation are marked so', async () => {
    expect((await fn(wdA, 'fn-a', ['scratch', join(eph, 'tmp-1'), 'scratch-1'])).exitCode).toBe(0);
    const s = await settle('the scratch invocation', (s) => !!(unitOf(s, 'scratch-1') as { end?: number } | undefined)?.end);
    const f = s.nodes.find((n) => n.type === 'File' && n.path === '/tmp-1') as Node;
    expect(f).toMatchObject({ volume: 'scratch', tier: 'ephemeral', removedAtInvocationEnd: true });
    expect(f.deleted).toBeGreaterThan(0);
  });

  it('CUDA runtime calls through ctypes: GpuBuffer with size, copies with direction, return codes; a buffer carries data across warm invocations', async () => {
    const r = await fn(wdA, 'fn-gpu', ['gpu', lib, 'gpu-1', 'gpu-2']);
    expect(r.exitCode).toBe(0);
    // No GPU here: every call fails with the same code, which the capture must record.
    const codes = Object.fromEntries(r.stdout.trim().split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    const rc = codes.malloc!;
    expect(rc).toBeGreaterThan(0);
    const s = await settle('the GPU invocations', (s) => {
      const b = s.nodes.find((n) => n.type === 'GpuBuffer' && n.ptr === '0x7f00cafe0000') as { freed?: number } | undefined;
      return !!unitOf(s, 'gpu-2') && !!b && s.edges.some((e) => e.type === 'WAS_INVALIDATED_BY');
    });
    const buf = s.nodes.find((n) => n.type === 'GpuBuffer' && n.ptr === '0x7f00cafe0000' && n.api === 'cudaMalloc') as Node;
    expect(buf).toMatchObject({ size: 4096, rc });
    const u1 = unitOf(s, 'gpu-1')!;
    const u2 = unitOf(s, 'gpu-2')!;
    // The first invocation's copy made a version of the buffer (an attempt: it failed), derived from the allocation for the 3 KiB it left.
    const h2d = s.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.dst === u1.id && e.attrs.copyKind === 1)!;
    const version = s.nodes.find((n) => n.id === h2d.src) as Node;
    expect(version).toMatchObject({ type: 'GpuBuffer', ptr: '0x7f00cafe0000', size: 4096, allocated: buf.allocated, rc: codes.h2d });
    expect(h2d.bytes).toBe(1024);
    expect(h2d.attrs).toMatchObject({ copyKind: 1, rc: codes.h2d });
    expect(s.edges.find((e) => e.type === 'WAS_DERIVED_FROM' && e.src === version.id && e.dst === buf.id)).toMatchObject({ bytes: 3072 });
    // The second invocation's 512 bytes are all in that version.
    const d2h = s.edges.find((e) => e.type === 'USED' && e.src === u2.id && e.dst === version.id)!;
    expect(d2h.bytes).toBe(512);
    expect(d2h.attrs).toMatchObject({ copyKind: 2, rc: codes.d2h });
    const kernel = s.nodes.find((n) => n.type === 'GpuKernel') as Node;
    expect(kernel).toMatchObject({ api: 'cudaLaunchKernel', rc: codes.launch });
    expect(s.edges.some((e) => e.type === 'WAS_INFORMED_BY' && e.src === kernel.id && e.dst === u1.id)).toBe(true);
    expect(s.edges.some((e) => e.type === 'WAS_INVALIDATED_BY' && e.src === buf.id)).toBe(true);

    // The backward trace from the second invocation reaches the first through the device buffer.
    // (The store's own query, then the CLI as a user would run it.)
    const t = await faasprov(['trace', u2.id, '--backward', '--store', collector.store, '--format', 'json']);
    expect(t.exitCode).toBe(0);
    const g = JSON.parse(String(t.stdout)) as { nodes: Node[] };
    const ids = new Set(g.nodes.map((n) => n.id));
    expect(ids.has(version.id)).toBe(true);
    expect(ids.has(u1.id)).toBe(true);
    // The collector's rules saw a device buffer read across invocations.
    expect(s.nodes.find((n) => n.type === 'Alert' && n.rule === 'gpu-buffer-cross-read' && n.subject === u2.id)).toMatchObject({ object: version.id, severity: 'critical' });
  });

  it('a disaggregated GPU: the channel is a gpu-server Endpoint, and a buffer written by one tenant and read by another is a path and a cross-tenant fact', async () => {
    const w = await fn(wdA, 'fn-gpu-a', ['remote-write', guest, 'rg-1'], 'tenant-a');
    expect(w.exitCode).toBe(0);
    const ptr = w.stdout.trim();
    const r = await fn(wdB, 'fn-gpu-b', ['remote-read', guest, ptr, 'rg-2'], 'tenant-b');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('card=4111-1111');
    const s = await settle('the remote GPU invocations', (s) => !!unitOf(s, 'rg-2') && s.edges.some((e) => e.type === 'USED' && e.src === unitOf(s, 'rg-2')!.id && e.attrs.copyKind === 2));
    const [addr, port] = gpuServerAt.split(':');
    expect(s.nodes.find((n) => n.type === 'Endpoint' && n.address === addr && n.port === Number(port))).toMatchObject({ role: 'gpu-server' });
    const buf = s.nodes.find((n) => n.type === 'GpuBuffer' && n.ptr === `0x${ptr}` && n.api === 'cudaMalloc') as Node;
    expect(buf).toMatchObject({ device: `gpu-server:${gpuServerAt}/cuda0`, size: 64, rc: 0, tenant: 'tenant-a' });
    const u1 = unitOf(s, 'rg-1')!;
    const u2 = unitOf(s, 'rg-2')!;
    // Tenant a's copy covered the whole buffer: a version of its own, derived from nothing.
    const write = s.edges.find((e) => e.type === 'WAS_GENERATED_BY' && e.dst === u1.id && e.bytes === 64 && e.attrs.copyKind === 1)!;
    const version = s.nodes.find((n) => n.id === write.src) as Node;
    expect(version).toMatchObject({ type: 'GpuBuffer', device: buf.device, ptr: buf.ptr, tenant: 'tenant-a' });
    expect(s.edges.some((e) => e.type === 'WAS_DERIVED_FROM' && e.src === version.id)).toBe(false);
    const read = s.edges.find((e) => e.type === 'USED' && e.src === u2.id && e.dst === version.id)!;
    expect(read.attrs).toMatchObject({ crossTenant: true, copyKind: 2 });
    expect(u2.tenant).toBe('tenant-b');
    expect(s.nodes.find((n) => n.type === 'Alert' && n.rule === 'gpu-buffer-cross-read' && n.subject === u2.id)).toMatchObject({ tenant: 'tenant-b', summary: expect.stringContaining('tenant tenant-a') });
  });

  it('a read on another node is one File version with its writer, and the locality route lists the invocation', async () => {
    // A second agent, for node-b, sees the same durable volume under the same id.
    const second = new Agent(collector.url, join(dir, 'spool-b'), 'fpwdf3c', await freePort(), [
      '--node', 'node-b', '--token', TOKEN_B, '--volume', `${durable}=${backing.slice(1)}:durable:node-test`,
    ]);
    await second.start();
    try {
      const wdC = fakeWatchdog(dir, 'fpwdf3c');
      const path = join(durable, 'remote.txt');
      expect((await fn(wdA, 'fn-a', ['write', path, 'loc-w'])).exitCode).toBe(0);
      await settle('the write on node-test', (s) => s.nodes.some((n) => n.type === 'File' && n.path === '/remote.txt'));
      expect((await fn(wdC, 'fn-c', ['read', path, 'loc-r'])).exitCode).toBe(0);
      await until('node-b to ship', async () => (await second.metric('faasprov_agent_spool_pending_batches')) === 0 && !!unitOf(readStore(collector.store), 'loc-r'), 60000);
    } finally {
      await second.stop();
    }
    const s = readStore(collector.store);
    const files = s.nodes.filter((n) => n.type === 'File' && n.path === '/remote.txt') as Node[];
    expect(files).toHaveLength(1);
    const reader = unitOf(s, 'loc-r')!;
    expect(reader.node).toBe('node-b');
    expect(s.edges.some((e) => e.type === 'USED' && e.src === reader.id && e.dst === files[0]!.id)).toBe(true);

    const store = new SqliteGraphStore(collector.store);
    const app = await buildServer({ store, collector: false });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/locality/remote-reads?limit=50' });
      expect(r.statusCode).toBe(200);
      const reads = (r.json() as { reads: { invocation?: Node; producedOn: string; readOn: string; file: Node }[] }).reads;
      const mine = reads.filter((x) => x.file.id === files[0]!.id);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ invocation: { callId: 'loc-r', function: 'fn-c' }, producedOn: 'node-test', readOn: 'node-b' });
      // Reads on the writer's own node are not remote.
      expect(reads.some((x) => x.invocation?.callId === 'b-durable')).toBe(false);
      expect((await app.inject({ method: 'GET', url: '/api/v1/locality/remote-reads?limit=0' })).statusCode).toBe(400);
    } finally {
      await app.close();
      await store.close();
    }
  }, 120000);
});
