import type { SerializedGraph } from '@faasprov/model';
import { printable } from '@faasprov/graph-service';
import { defaultStorePath } from './defaults.js';

const SHELL_SAFE = /^[A-Za-z0-9_./:@%+=,-]+$/;
const quote = (s: string) => (SHELL_SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The exact `faasprov trace` commands that start from the files a capture wrote (what led to
 * each), at most `max` of them, so a reader of the tree does not have to hunt for node ids.
 */
export function traceHints(g: SerializedGraph, store: string, max = 5): string[] {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const written = new Map<string, string>();
  for (const e of g.edges) {
    const f = byId.get(e.from);
    if (e.type !== 'WAS_GENERATED_BY' || f?.type !== 'File' || /^\/(dev|proc)\//.test(f.path)) continue;
    written.set(f.id, f.path);
  }
  if (written.size === 0) return [];
  // Credentials never reach the terminal: a Neo4j URL is shown without its password.
  const storeArg = store === defaultStorePath() ? '' : ` --store ${quote(store.replace(/:[^:@/]*@/, ':***@'))}`;
  const files = [...written].sort((a, b) => a[1].localeCompare(b[1]));
  const lines = files.slice(0, max).map(([id, path]) => `  faasprov trace ${id} --backward${storeArg}   # ${printable(path)}`);
  if (files.length > max) lines.push(`  (and ${files.length - max} more written files)`);
  return [`faasprov: what led to the files CMD wrote:`, ...lines];
}
