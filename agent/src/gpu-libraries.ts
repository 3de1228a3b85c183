import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { GPU_ENTRY_POINTS, GPU_LIBRARY_PATH, type GpuLibrary } from './sensor/gpu-probes.js';
import { AgentErrors } from './errors.js';

/** Names of CUDA runtime and driver libraries, as a process maps them. */
export const CUDA_LIBRARY = /^lib(cudart|cuda)\.so(\.\d+)*$/;

/** The dynamic symbols a library defines (binutils nm: ELF parsing is not worth owning). */
function definedSymbols(path: string): Set<string> {
  let out: string;
  try {
    out = execFileSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw AgentErrors.FP_ERR_GPU_LIBRARY(path, 'nm (binutils) is not installed');
    throw AgentErrors.FP_ERR_GPU_LIBRARY(path, String(e.stderr || e.message).trim().slice(0, 300));
  }
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const name = line.split(' ').at(-1)?.split('@')[0];
    if (name) names.add(name);
  }
  return names;
}

/** A library to probe: its real path (uprobes attach to the file) and the entry points it defines. */
export function gpuLibrary(path: string): GpuLibrary {
  let real: string;
  try {
    real = realpathSync(path);
    accessSync(real, constants.R_OK);
  } catch (err) {
    throw AgentErrors.FP_ERR_GPU_LIBRARY(path, (err as Error).message);
  }
  if (!GPU_LIBRARY_PATH.test(real)) throw AgentErrors.FP_ERR_GPU_LIBRARY(real, 'the path has characters a probe cannot name');
  const defined = definedSymbols(real);
  const symbols = Object.keys(GPU_ENTRY_POINTS).filter((s) => defined.has(s));
  if (symbols.length === 0) throw AgentErrors.FP_ERR_GPU_LIBRARY(real, 'it defines no CUDA entry point faasprov knows (cudaMalloc, cuMemAlloc_v2, …)');
  return { path: real, symbols };
}

/** CUDA libraries the given processes have mapped now (/proc/PID/maps). */
export function mappedCudaLibraries(pids: number[]): string[] {
  const found = new Set<string>();
  for (const pid of pids) {
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    for (const line of maps.split('\n')) {
      const i = line.indexOf('/');
      if (i < 0) continue;
      const path = line.slice(i);
      if (CUDA_LIBRARY.test(basename(path))) found.add(path);
    }
  }
  return [...found];
}

/** Configured libraries and those the running function processes map, deduplicated by real path. */
export function resolveGpuLibraries(configured: string[], pids: number[], log: (m: string) => void): GpuLibrary[] {
  const libs = new Map<string, GpuLibrary>();
  for (const p of configured) {
    const l = gpuLibrary(p);
    libs.set(l.path, l);
  }
  for (const p of mappedCudaLibraries(pids)) {
    try {
      const l = gpuLibrary(p);
      libs.set(l.path, l);
    } catch (err) {
      log(`not probing ${p}: ${(err as Error).message}`);
    }
  }
  return [...libs.values()];
}

/** --gpu-server ADDRESS:PORT → the key the observer compares connects with. */
export function parseGpuServer(spec: string): string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw AgentErrors.FP_ERR_BAD_GPU_SERVER(spec);
  return `${(m[1] ?? m[2])!.toLowerCase()}:${port}`;
}
