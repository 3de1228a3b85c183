import { describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  MIN_BPFTRACE,
  bpftraceEnv,
  bpftraceVersion,
  buildProgram,
  defaultBpftrace,
  gpuLibrary,
  preflight,
  versionAtLeast,
  type ProgramOptions,
} from '@faasprov/agent';
import { ROOT, tempDir } from './helpers.js';

function cudart(): string {
  const site = join(ROOT, '.tools/pyvenv/lib');
  for (const py of readdirSync(site)) {
    const p = join(site, py, 'site-packages/nvidia/cuda_runtime/lib/libcudart.so.12');
    if (existsSync(p)) return p;
  }
  throw new Error('libcudart.so.12 not found: run make py-deps');
}

// The bpftrace faasprov runs by default (make test provisions it) compiles what the agent generates.
describe('bpftrace as faasprov runs it', () => {
  it('is 0.23 or newer and runs under the name bpftrace', async () => {
    const bin = defaultBpftrace();
    const version = await bpftraceVersion(bin);
    expect(version).toBeDefined();
    expect(versionAtLeast(version!, MIN_BPFTRACE)).toBe(true);
    // The kernel names a process after the file it executes (the provisioned one is a loader).
    const r = await execa(bin, ['-e', 'BEGIN { printf("%s\\n", comm); exit(); }'], { reject: false, env: bpftraceEnv() });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toContain('bpftrace');
  });

  it('compiles every shape of the generated program without a warning', async () => {
    const variants: ProgramOptions[] = [
      { scope: { kind: 'launcher', rootPid: process.pid } },
      {
        scope: { kind: 'watch', comms: ['fwatchdog'], seedPids: [process.pid], seedDevNull: [{ pid: process.pid, fd: 3 }] },
        counterFlushSec: 5,
        countRaw: true,
        gpu: [gpuLibrary(cudart())],
      },
      // Rules that name environment variables: every exec's first chunks, and a new root's up to ROOT_ENV_BYTES.
      { scope: { kind: 'watch', comms: ['fwatchdog'], seedPids: [] }, envBytes: 1520 },
    ];
    const dir = tempDir('fp-bpftrace-');
    try {
      for (const [i, v] of variants.entries()) {
        // --emit-elf compiles and stops before attaching anything.
        const r = await execa(defaultBpftrace(), ['--emit-elf', join(dir, `p${i}.elf`), '-e', buildProgram(v)], {
          reject: false,
          env: bpftraceEnv(),
          timeout: 60000,
        });
        const noise = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/RLIMIT_MEMLOCK/.test(l));
        expect({ variant: i, exitCode: r.exitCode, stderr: noise }).toEqual({ variant: i, exitCode: 0, stderr: [] });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bpftrace older than 0.23 and says how to get one', async () => {
    const dir = tempDir('fp-oldbpf-');
    try {
      const old = join(dir, 'bpftrace');
      writeFileSync(old, '#!/bin/sh\necho "bpftrace v0.17.0"\n');
      chmodSync(old, 0o755);
      const err = (await preflight({ bpftrace: old }).catch((e: unknown) => e)) as Error & { code: string };
      expect(err).toMatchObject({ code: 'FP_ERR_OLD_BPFTRACE' });
      expect(err.message).toContain('0.17.0');
      expect(err.message).toContain('scripts/ensure-bpftrace.sh');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
