import { collapseEdge, edgeId, fileId, type Batch, type GraphEdge, type GraphNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

/**
 * An agent that reads an F3 file it never saw written reports version 0. On a shared volume the
 * writer may have run on another node: the read is of the newest version stored at that time.
 * Rewrites such nodes (and their edges' ids) in place; returns how many were resolved.
 */
export async function resolveVolumeReads(store: GraphStore, batch: Batch): Promise<number> {
  let resolved = 0;
  for (const f of batch.nodes) {
    if (f.type !== 'File' || f.volume === undefined || f.version !== 0) continue;
    const reads = batch.edges.filter((e) => e.to === f.id && e.type === 'USED');
    if (reads.length === 0) continue;
    const v = await store.fileVersionAt(f.volume, f.path, Math.min(...reads.map((e) => e.firstTime)));
    if (!v) continue;
    const old = f.id;
    f.version = v;
    f.id = fileId(f.node, f.path, v, f.volume);
    for (const e of batch.edges) {
      if (e.from !== old && e.to !== old) continue;
      if (e.from === old) e.from = f.id;
      if (e.to === old) e.to = f.id;
      e.id = edgeId(e.type, e.from, e.to);
    }
    resolved++;
  }
  if (resolved > 0) dedupe(batch);
  return resolved;
}

/** Two nodes or edges that became one: merged as the agent's buffer would have merged them. */
function dedupe(batch: Batch): void {
  const nodes = new Map<string, GraphNode>();
  for (const n of batch.nodes) nodes.set(n.id, nodes.has(n.id) ? ({ ...nodes.get(n.id)!, ...n } as GraphNode) : n);
  const edges = new Map<string, GraphEdge>();
  for (const e of batch.edges) {
    const prev = edges.get(e.id);
    if (!prev) {
      edges.set(e.id, e);
      continue;
    }
    collapseEdge(prev, e);
  }
  batch.nodes = [...nodes.values()];
  batch.edges = [...edges.values()];
}
