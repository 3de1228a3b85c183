/**
 * Uprobes on CUDA libraries (the runtime libcudart, the driver libcuda, or an API-remoting guest
 * library that exports the same names). Arguments are saved at entry per (tid, entry point) and
 * printed at return with the return code, so a call that fails (no GPU, no driver) is still seen.
 */

/** A shared library to probe and the entry points it defines (a subset of GPU_ENTRY_POINTS). */
export interface GpuLibrary {
  path: string;
  symbols: string[];
}

type Shape = 'alloc' | 'free' | 'copy' | 'launch' | 'device';

/** The entry points faasprov understands, by shape; copy kinds fixed by the driver API's names. */
export const GPU_ENTRY_POINTS: Record<string, { shape: Shape; kind?: number }> = {
  cudaMalloc: { shape: 'alloc' },
  cudaMallocManaged: { shape: 'alloc' },
  cuMemAlloc: { shape: 'alloc' },
  cuMemAlloc_v2: { shape: 'alloc' },
  cudaFree: { shape: 'free' },
  cuMemFree: { shape: 'free' },
  cuMemFree_v2: { shape: 'free' },
  cudaMemcpy: { shape: 'copy' },
  cudaMemcpyAsync: { shape: 'copy' },
  cuMemcpy: { shape: 'copy', kind: 4 },
  cuMemcpyAsync: { shape: 'copy', kind: 4 },
  cuMemcpyHtoD_v2: { shape: 'copy', kind: 1 },
  cuMemcpyHtoDAsync_v2: { shape: 'copy', kind: 1 },
  cuMemcpyDtoH_v2: { shape: 'copy', kind: 2 },
  cuMemcpyDtoHAsync_v2: { shape: 'copy', kind: 2 },
  cuMemcpyDtoD_v2: { shape: 'copy', kind: 3 },
  cudaLaunchKernel: { shape: 'launch' },
  cuLaunchKernel: { shape: 'launch' },
  cudaSetDevice: { shape: 'device' },
};

/** Paths reach the program text: no quote, backslash, colon or control byte may be in them. */
export const GPU_LIBRARY_PATH = /^\/[A-Za-z0-9._+/@-]{1,400}$/;

function probesFor(lib: GpuLibrary, index: number): string {
  if (!GPU_LIBRARY_PATH.test(lib.path)) throw new RangeError(`GPU library path not usable in a probe: ${JSON.stringify(lib.path)}`);
  const out: string[] = [];
  lib.symbols.forEach((sym, j) => {
    const ep = GPU_ENTRY_POINTS[sym];
    if (!ep) throw new RangeError(`unknown GPU entry point ${JSON.stringify(sym)}`);
    const at = (ret: boolean) => `${ret ? 'uretprobe' : 'uprobe'}:${lib.path}:${sym}`;
    // One key per (thread, library, entry point): a runtime call that calls the driver keeps both.
    const k = `tid, ${index * 64 + j}`;
    switch (ep.shape) {
      case 'alloc':
        out.push(`${at(false)} /@t[pid]/ { @ga[${k}] = arg0; @gs[${k}] = arg1; }
${at(true)} /@ga[${k}]/ {
  $p = (uint64)0; if (@ga[${k}] != 0) { $p = *(uint64 *)@ga[${k}]; }
  printf("a\\t%llu\\t%d/%d\\t${sym}\\t%d\\t%llx\\t%llu\\n", nsecs, pid, tid, (int32)retval, $p, @gs[${k}]);
  delete(@ga[${k}]); delete(@gs[${k}]);
}`);
        break;
      case 'free':
        out.push(`${at(false)} /@t[pid]/ { @gf[${k}] = arg0 + 1; }
${at(true)} /@gf[${k}]/ {
  printf("b\\t%llu\\t%d/%d\\t${sym}\\t%d\\t%llx\\n", nsecs, pid, tid, (int32)retval, @gf[${k}] - 1);
  delete(@gf[${k}]);
}`);
        break;
      case 'copy': {
        const kind = ep.kind !== undefined ? String(ep.kind) : 'arg3';
        out.push(`${at(false)} /@t[pid]/ { @gcd[${k}] = arg0; @gcs[${k}] = arg1; @gcn[${k}] = arg2 + 1; @gck[${k}] = ${kind}; }
${at(true)} /@gcn[${k}]/ {
  printf("c\\t%llu\\t%d/%d\\t${sym}\\t%d\\t%llx\\t%llx\\t%llu\\t%d\\n", nsecs, pid, tid, (int32)retval, @gcd[${k}], @gcs[${k}], @gcn[${k}] - 1, @gck[${k}]);
  delete(@gcd[${k}]); delete(@gcs[${k}]); delete(@gcn[${k}]); delete(@gck[${k}]);
}`);
        break;
      }
      case 'launch': {
        // Runtime launches pass the host stub of the kernel, which has a symbol; driver ones a handle.
        const symbol = sym.startsWith('cuda') ? `usym(@gl[${k}] - 1)` : '"-"';
        out.push(`${at(false)} /@t[pid]/ { @gl[${k}] = arg0 + 1; }
${at(true)} /@gl[${k}]/ {
  printf("l\\t%llu\\t%d/%d\\t${sym}\\t%d\\t%llx\\t%s\\n", nsecs, pid, tid, (int32)retval, @gl[${k}] - 1, ${symbol});
  delete(@gl[${k}]);
}`);
        break;
      }
      case 'device':
        out.push(`${at(false)} /@t[pid]/ { @gd[${k}] = arg0 + 1; }
${at(true)} /@gd[${k}]/ {
  printf("d\\t%llu\\t%d/%d\\t${sym}\\t%d\\t%d\\n", nsecs, pid, tid, (int32)retval, (int32)(@gd[${k}] - 1));
  delete(@gd[${k}]);
}`);
        break;
    }
  });
  return out.join('\n');
}

const MAPS: Record<Shape, string[]> = {
  alloc: ['@ga', '@gs'],
  free: ['@gf'],
  copy: ['@gcd', '@gcs', '@gcn', '@gck'],
  launch: ['@gl'],
  device: ['@gd'],
};

/** clear() for every map the probes use (bpftrace refuses to clear a map no probe defines). */
export function gpuMapsClear(libs: GpuLibrary[]): string {
  const maps = new Set<string>();
  for (const l of libs) for (const s of l.symbols) for (const m of MAPS[GPU_ENTRY_POINTS[s]!.shape]) maps.add(m);
  return [...maps].map((m) => `clear(${m});`).join(' ');
}

export function gpuProbes(libs: GpuLibrary[]): string {
  if (libs.length > 16) throw new RangeError('at most 16 GPU libraries');
  return libs.map(probesFor).join('\n');
}
