import { dirname } from 'node:path';
import { isCodePath, isSystemPath, type Batch, type GraphNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

/** Where an instance's code came from: directories of the code its processes loaded, and who loaded it. */
export interface CodeDirs {
  dirs: string[];
  /** The process images that loaded it (their own writes there are start-up: compiled caches). */
  loaders: Set<string>;
}

/**
 * The directories a function's code was loaded from, learned from what was seen, not a glob:
 * the code files (source, bytecode, shared objects; not system or runtime files) that processes
 * of the instance read or mapped before `before` (a script its interpreter reads at exec, the
 * modules it imports).
 * From the batch and the store (one round trip each way).
 */
export async function codeDirs(store: GraphStore, batch: Batch, nodes: Map<string, GraphNode>, instance: string, before: number): Promise<CodeDirs> {
  const procs = new Set<string>();
  for (const e of batch.edges) if (e.type === 'WAS_ASSOCIATED_WITH' && e.to === instance && nodes.get(e.from)?.type === 'Process') procs.add(e.from);
  // Processes only, asked of the store: an instance is associated with each of its invocations
  // too (thousands), which read nothing themselves (their units do).
  for (const s of await store.expand([{ id: instance, bound: 0 }], 'forward', { edge: 'WAS_ASSOCIATED_WITH', neighbor: 'Process' })) procs.add(s.neighbor);
  const reads = new Map<string, number>(); // file id → first read
  const note = (file: string, t: number) => reads.set(file, Math.min(reads.get(file) ?? t, t));
  for (const e of batch.edges) if (e.type === 'USED' && procs.has(e.from)) note(e.to, e.firstTime);
  const stored = procs.size > 0 ? await store.expand([...procs].map((id) => ({ id, bound: before })), 'backward', { edge: 'USED' }) : [];
  for (const s of stored) note(s.neighbor, s.edge.firstTime);
  const missing = [...reads.keys()].filter((id) => !nodes.has(id));
  const found = new Map([...reads.keys()].filter((id) => nodes.has(id)).map((id) => [id, nodes.get(id)!]));
  for (const n of await store.getNodes(missing)) found.set(n.id, n);
  const dirs = new Set<string>();
  const loaders = new Set<string>();
  for (const [id, t] of reads) {
    const f = found.get(id);
    if (f?.type !== 'File' || t > before || !isCodePath(f.path) || isSystemPath(f.path)) continue;
    dirs.add(dirname(f.path));
  }
  for (const s of stored) if (dirs.has(dirname((found.get(s.neighbor) as { path?: string } | undefined)?.path ?? ''))) loaders.add(s.via);
  for (const e of batch.edges) if (e.type === 'USED' && procs.has(e.from) && dirs.has(dirname((found.get(e.to) as { path?: string } | undefined)?.path ?? ''))) loaders.add(e.from);
  return { dirs: [...dirs].sort(), loaders };
}

/** path is in dir or below it. */
export const inside = (path: string, dir: string) => path.startsWith(dir === '/' ? '/' : `${dir}/`);

/** What an interpreter writes next to code it loads: never a finding by itself. */
export const isCompiledCache = (path: string) => path.includes('/__pycache__/');
