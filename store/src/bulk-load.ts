import type { SerializedGraph } from '@faasprov/model';
import { StoreErrors } from './errors.js';

/** A bulk load's input: every id once (a store's load creates rows, it merges nothing). */
export function checkUnique(store: string, g: SerializedGraph): void {
  for (const [what, xs] of [['node', g.nodes], ['edge', g.edges]] as const) {
    const seen = new Set<string>();
    for (const x of xs) {
      if (seen.has(x.id)) throw StoreErrors.FP_ERR_STORE_LOAD(store, `${what} ${x.id} is given twice (merge first)`);
      seen.add(x.id);
    }
  }
  const nodes = new Set(g.nodes.map((n) => n.id));
  const dangling = g.edges.find((e) => !nodes.has(e.from) || !nodes.has(e.to));
  if (dangling) throw StoreErrors.FP_ERR_STORE_LOAD(store, `edge ${dangling.id} names a node the graph does not hold`);
}
