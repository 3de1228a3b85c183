import { collapseEdge, type GraphEdge, type GraphNode } from '@faasprov/model';

export interface NodeRow {
  id: string;
  type: string;
  attrs: Record<string, unknown>;
}

/** A batch merged in memory before it is written: one row per node and per edge, in id order (locks taken in one order). */

/**
 * A batch's nodes with one row per id, in id order: later facts override earlier ones key by key,
 * which is what json_patch would do row after row (node attributes are flat; arrays replace).
 */
export function mergeNodes(nodes: readonly GraphNode[]): NodeRow[] {
  const m = new Map<string, NodeRow>();
  for (const n of nodes) {
    const { id, type, ...attrs } = n;
    const had = m.get(id);
    // An absent value leaves the earlier one, as an upsert of each row in turn would.
    if (!had) m.set(id, { id, type, attrs });
    else for (const [k, v] of Object.entries(attrs)) if (v !== undefined) had.attrs[k] = v;
  }
  return [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A batch's edges with one row per id, in id order, collapsed as the store collapses them. */
export function mergeEdges(edges: readonly GraphEdge[]): GraphEdge[] {
  const m = new Map<string, GraphEdge>();
  for (const e of edges) {
    const had = m.get(e.id);
    if (!had) {
      m.set(e.id, { ...e, ...(e.attrs ? { attrs: { ...e.attrs } } : {}) });
      continue;
    }
    collapseEdge(had, e);
  }
  return [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
