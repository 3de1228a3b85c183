import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { ROOT, faasprov, tempDir } from './helpers.js';

const GO = ['/usr/local/go/bin/go', 'go'].find((g) => g === 'go' || existsSync(g))!;
const MANIFESTS = join(ROOT, 'deploy', 'kubernetes');
const files = readdirSync(MANIFESTS).filter((f) => f.endsWith('.yaml')).map((f) => join(MANIFESTS, f));
// The validator is built first: with an empty module cache `go` reports its downloads on stderr,
// which is go's progress, not the validator's verdict.
let bin = '';
let binDir = '';
const validate = (args: string[]) => execa(bin, args, { reject: false, timeout: 120000 });

// Manifests ship for users; here they are validated (strictly, against the real Kubernetes API
// types), not deployed.
describe('Kubernetes manifests', () => {
  beforeAll(async () => {
    binDir = tempDir('fp-validate-');
    bin = join(binDir, 'validate');
    const b = await execa(GO, ['build', '-o', bin, '.'], { cwd: join(ROOT, 'deploy', 'validate'), reject: false, all: true, timeout: 600000, env: { GOFLAGS: '-mod=mod' } });
    if (b.exitCode !== 0) throw new Error(`go build of deploy/validate failed:\n${b.all}`);
  }, 600000);
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  it('decode strictly as the Kubernetes API types', async () => {
    const r = await validate(files);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/DaemonSet faasprov\/faasprov-agent ok/);
    expect(r.stdout).toMatch(/\d+ documents valid/);
  });

  it('are refused when a field is misplaced', async () => {
    const dir = tempDir('fp-k8s-');
    try {
      const bad = join(dir, 'bad.yaml');
      const ds = readFileSync(join(MANIFESTS, '20-agent-daemonset.yaml'), 'utf8').replace('          securityContext:\n            privileged: true', '          privileged: true');
      writeFileSync(bad, ds);
      const r = await validate([bad]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/unknown field.*privileged/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('use only flags that the CLI has', async () => {
    for (const f of files) {
      for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
        const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } };
        for (const c of o.spec?.template?.spec?.containers ?? []) {
          const [sub, ...rest] = c.args ?? [];
          const help = await faasprov([sub!, '--help']);
          expect(help.exitCode).toBe(0);
          for (const flag of rest.filter((a) => a.startsWith("--"))) expect([sub, flag, String(help.stdout).includes(flag)]).toEqual([sub, flag, true]);
        }
      }
    }
  });
});
