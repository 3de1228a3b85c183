import { describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { preflight } from '@faasprov/agent';
import { FAASPROV, ROOT, faasprov, tempDir } from './helpers.js';

describe('preflight', () => {
  it('names what is missing, one clear error each', async () => {
    await expect(preflight({ uid: 1000 })).rejects.toMatchObject({ code: 'FP_ERR_NOT_ROOT' });
    await expect(preflight({ bpftrace: '/nonexistent/bpftrace' })).rejects.toMatchObject({ code: 'FP_ERR_NO_BPFTRACE' });
    await expect(preflight({ btfPath: '/nonexistent/vmlinux' })).rejects.toMatchObject({ code: 'FP_ERR_NO_BTF' });
  });

  it('mounts tracefs when it is not mounted', async () => {
    const dir = tempDir('fp-tracefs-');
    try {
      expect(existsSync(join(dir, 'events'))).toBe(false);
      await preflight({ tracefs: dir });
      expect(existsSync(join(dir, 'events'))).toBe(true);
    } finally {
      await execa('umount', [dir], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a run without root or without bpftrace before starting anything', async () => {
    const dir = tempDir();
    const store = join(dir, 's.db');
    try {
      // The checkout may sit in a private (0700) folder, as mktemp -d makes them: let nobody
      // through to faasprov for this check, and put the modes back after.
      const opened: [string, number][] = [];
      for (let d = ROOT; d !== dirname(d); d = dirname(d)) {
        const mode = statSync(d).mode & 0o7777;
        if ((mode & 0o001) === 0) {
          chmodSync(d, mode | 0o001);
          opened.push([d, mode]);
        }
      }
      const nobody = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', FAASPROV, 'run', '--store', store, '--', 'true'], { reject: false });
      for (const [d, mode] of opened) chmodSync(d, mode);
      expect(nobody.exitCode).toBe(2);
      expect(nobody.stderr).toContain('FP_ERR_NOT_ROOT');
      const nobpf = await faasprov(['run', '--store', store, '--bpftrace', '/nonexistent/bpftrace', '--', 'true']);
      expect(nobpf.exitCode).toBe(2);
      expect(nobpf.stderr).toContain('bpftrace not found');
      expect(existsSync(store)).toBe(false);
      const bad = await faasprov(['run', '--store', store, '--format', 'xml', '--', 'true']);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr).toContain("argument 'xml' is invalid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has --help on every subcommand', async () => {
    for (const sub of [[], ['run'], ['up'], ['trace'], ['agent'], ['collector'], ['search'], ['export']]) {
      const r = await faasprov([...sub, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('Usage: faasprov');
    }
  });
});
