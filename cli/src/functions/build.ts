/**
 * faasprov functions build: what functions up does before it starts anything (faas-cli build
 * --shrinkwrap, each function's dependencies), and the CUDA libraries those dependencies hold, so
 * that a node agent started before the stack can probe them (uprobes attach when bpftrace starts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { CUDA_LIBRARY } from '@faasprov/agent';
import { FunctionsErrors } from '../errors.js';
import { installDependencies } from './deps.js';
import { instanceEnv } from './instances.js';
import type { Stack, StackFunction } from './stack.js';
import { findTool } from './tools.js';

export interface PreparedFunction {
  f: StackFunction;
  dir: string;
  pathFirst: string[];
  /** CUDA runtime or driver libraries in the function's dependencies (real files, for --gpu-lib). */
  gpuLibraries: string[];
}

/** Files named like a CUDA library below dir (a virtual environment's site-packages), at most depth levels down. */
function cudaLibraries(dir: string, depth: number): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && CUDA_LIBRARY.test(e.name)) out.push(p);
    else if (e.isDirectory()) out.push(...cudaLibraries(p, depth - 1));
  }
  return out;
}

export async function prepareStack(stack: Stack, o: { build: boolean; faasCli?: string; log: (line: string) => void }): Promise<PreparedFunction[]> {
  if (o.build) {
    const faasCli = findTool('faas-cli', o.faasCli);
    o.log(`faas-cli build --shrinkwrap -f ${stack.file}`);
    const r = await execa(faasCli, ['build', '--shrinkwrap', '-f', stack.file], { cwd: stack.dir, reject: false, all: true });
    if (r.exitCode !== 0) throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(stack.functions.map((f) => f.name).join(','), `faas-cli build --shrinkwrap failed:\n${String(r.all ?? '').trim().split('\n').slice(-10).join('\n')}`);
  }
  const prepared: PreparedFunction[] = [];
  for (const f of stack.functions) {
    const dir = join(stack.dir, 'build', f.name);
    if (!existsSync(join(dir, 'Dockerfile'))) throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(f.name, `${dir} is not a shrinkwrapped build folder (run faas-cli build --shrinkwrap, or drop --no-build)`);
    const pathFirst = await installDependencies(f.name, dir, join(stack.dir, '.faasprov', 'deps'), o.log);
    // Checked before anything is created: a bad Dockerfile changes nothing.
    instanceEnv({ name: f.name, namespace: f.namespace, index: 0, buildDir: dir, tmpDir: '/nonexistent', pathFirst, stackEnv: f.environment, hostAddress: '0.0.0.0' });
    // A virtual environment's bin/ sits beside lib/pythonX.Y/site-packages/PACKAGE/.../lib.
    const gpuLibraries = pathFirst.filter((p) => basename(p) === 'bin').flatMap((p) => cudaLibraries(join(dirname(p), 'lib'), 6));
    prepared.push({ f, dir, pathFirst, gpuLibraries });
  }
  return prepared;
}
