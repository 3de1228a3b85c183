import type { Batch, GraphNode, UnitNode } from '@faasprov/model';
import type { GraphStore } from '@faasprov/store';

type Hit = (time: number, summary: string, subject: GraphNode, object?: GraphNode) => void;

/**
 * The `cross-function-volume` rule: a unit reading a file version on a shared (F3) volume that a
 * unit of another function wrote (data crossing functions through storage, e.g. an exfiltration
 * staged by one function and served by another). Writers come from the batch and the store.
 */
export async function volumeFlowFindings(batch: Batch, nodes: Map<string, GraphNode>, store: GraphStore, label: (n: GraphNode) => string, hit: Hit): Promise<void> {
  for (const e of batch.edges) {
    if (e.type !== 'USED' || e.attrs?.rc !== undefined) continue;
    const reader = nodes.get(e.from);
    const file = nodes.get(e.to);
    if (reader?.type !== 'Unit' || reader.function === undefined || file?.type !== 'File' || file.volume === undefined) continue;
    const ids = new Set(batch.edges.filter((x) => x.type === 'WAS_GENERATED_BY' && x.from === file.id && x.firstTime <= e.lastTime).map((x) => x.to));
    for (const s of await store.expand([{ id: file.id, bound: e.lastTime }], 'backward')) if (s.edge.type === 'WAS_GENERATED_BY') ids.add(s.neighbor);
    const known = [...ids].filter((id) => nodes.has(id)).map((id) => nodes.get(id)!);
    const writers = [...known, ...(await store.getNodes([...ids].filter((id) => !nodes.has(id))))];
    const w = writers.find((n): n is UnitNode => n.type === 'Unit' && n.function !== undefined && n.function !== reader.function);
    if (w) hit(e.firstTime, `${label(reader)} of ${reader.function} read ${label(file)} written by ${label(w)} of ${w.function}`, reader, file);
  }
}
