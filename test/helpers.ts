import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type Options } from 'execa';
import type { GraphEdge, GraphNode, ProcessNode, SerializedGraph } from '@faasprov/model';

export const ROOT = resolve(import.meta.dirname, '..');
export const FAASPROV = join(ROOT, 'cli', 'bin', 'faasprov');

export function tempDir(prefix = 'fp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the real faasprov CLI (the installed bin, as a user would). */
export function faasprov(args: string[], opts: Options = {}) {
  return execa(FAASPROV, args, { reject: false, timeout: 120000, ...opts });
}

export function readGraph(file: string): SerializedGraph {
  return JSON.parse(readFileSync(file, 'utf8')) as SerializedGraph;
}

export function processes(g: SerializedGraph): ProcessNode[] {
  return g.nodes.filter((n): n is ProcessNode => n.type === 'Process');
}

export function edgesOf(g: SerializedGraph, type: GraphEdge['type'], from?: GraphNode, to?: GraphNode): GraphEdge[] {
  return g.edges.filter((e) => e.type === type && (!from || e.from === from.id) && (!to || e.to === to.id));
}

/** The real python interpreter (not a pyenv shim script). */
export async function pythonExe(): Promise<string> {
  const r = await execa('python3', ['-c', 'import sys; print(sys.executable)']);
  return r.stdout.trim();
}
