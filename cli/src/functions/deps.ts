/**
 * Installs a shrinkwrapped function's dependencies the way its Dockerfile would: npm install where a
 * package.json is (the wrapper's and the handler's), pip install -r every requirements.txt into a
 * virtual environment. faas-cli build --shrinkwrap rewrites build/NAME each time, so they live
 * beside the state in .faasprov/deps/DIGEST, addressed by the manifests' digest (functions with the
 * same manifests share them, as images share a layer), and build/NAME/node_modules links there.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { FunctionsErrors } from '../errors.js';

const SUBDIRS = ['', 'function'];

async function step(fn: string, what: string, cmd: string, args: string[], cwd: string): Promise<void> {
  const r = await execa(cmd, args, { cwd, reject: false, all: true, env: { npm_config_update_notifier: 'false', PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  if (r.exitCode !== 0) {
    const tail = String(r.all ?? '').trim().split('\n').slice(-8).join('\n');
    throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(fn, `${what} failed (exit ${r.exitCode ?? r.signal}):\n${tail}`);
  }
}

/** Installs (or reuses) the dependencies of build folder dir; returns the PATH entries its process needs first. */
export async function installDependencies(fn: string, dir: string, depsRoot: string, log: (line: string) => void): Promise<string[]> {
  const manifests = SUBDIRS.flatMap((sub) => ['package.json', 'package-lock.json', 'requirements.txt'].map((m) => join(sub, m))).filter((m) => existsSync(join(dir, m)));
  const py = manifests.some((m) => m.endsWith('requirements.txt'));
  const digest = createHash('sha256');
  for (const m of manifests) digest.update(m).update('\0').update(readFileSync(join(dir, m))).update('\0');
  const stamp = digest.digest('hex');
  const depsDir = join(depsRoot, stamp.slice(0, 16));
  const venv = join(depsDir, 'venv');
  const fresh = existsSync(join(depsDir, 'stamp')) && readFileSync(join(depsDir, 'stamp'), 'utf8') === stamp;
  if (!fresh) {
    rmSync(depsDir, { recursive: true, force: true });
    mkdirSync(depsDir, { recursive: true });
    if (py) {
      log(`${fn}: python3 -m venv`);
      await step(fn, 'python3 -m venv', 'python3', ['-m', 'venv', venv], depsDir);
    }
    for (const sub of SUBDIRS) {
      if (existsSync(join(dir, sub, 'requirements.txt'))) {
        log(`${fn}: pip install -r ${join(sub, 'requirements.txt')}`);
        await step(fn, `pip install -r ${join(sub, 'requirements.txt')}`, join(venv, 'bin', 'pip'), ['install', '-q', '-r', join(dir, sub, 'requirements.txt')], join(dir, sub));
      }
      if (existsSync(join(dir, sub, 'package.json'))) {
        const at = join(depsDir, 'npm', sub === '' ? 'root' : sub);
        mkdirSync(at, { recursive: true });
        for (const f of ['package.json', 'package-lock.json']) if (existsSync(join(dir, sub, f))) copyFileSync(join(dir, sub, f), join(at, f));
        log(`${fn}: npm install (${join(sub, 'package.json')})`);
        await step(fn, `npm install for ${join(sub, 'package.json')}`, 'npm', ['install', '--no-audit', '--no-fund', '--omit=dev'], at);
        mkdirSync(join(at, 'node_modules'), { recursive: true });
      }
    }
    writeFileSync(join(depsDir, 'stamp'), stamp);
  }
  log(`${fn}: dependencies in ${depsDir}${fresh ? ' (unchanged)' : ''}`);
  for (const sub of SUBDIRS) {
    const modules = join(depsDir, 'npm', sub === '' ? 'root' : sub, 'node_modules');
    const link = join(dir, sub, 'node_modules');
    if (existsSync(join(dir, sub, 'package.json')) && !existsSync(link)) symlinkSync(modules, link, 'dir');
  }
  return py ? [join(venv, 'bin')] : [];
}
