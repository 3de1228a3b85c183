import { existsSync } from 'node:fs';
import { SqliteGraphStore } from '@faasprov/store';
import { formatGraph, nodeLabel, trace, type Format } from '@faasprov/graph-service';
import { emit, fail } from '../output.js';

export interface TraceCliOptions {
  store: string;
  backward?: boolean;
  forward?: boolean;
  format: Format;
  out?: string;
  maxDepth: number;
}

/** faasprov trace NODE_ID --backward|--forward: a time-respecting trace from a stored graph. */
export async function traceCommand(id: string, o: TraceCliOptions): Promise<number> {
  if (!!o.backward === !!o.forward) fail(new Error('say one direction: --backward (root cause) or --forward (impact)'));
  if (!existsSync(o.store)) fail(new Error(`no store at ${o.store} (set --store or FAASPROV_STORE)`));
  const store = new SqliteGraphStore(o.store);
  try {
    const r = await trace(store, id, { direction: o.backward ? 'backward' : 'forward', maxDepth: o.maxDepth });
    const start = r.nodes.find((n) => n.id === id)!;
    const title = `${r.direction} trace from ${nodeLabel(start)}${r.truncated ? ' (truncated)' : ''}`;
    emit(formatGraph(r, o.format, title), o.out, process.stdout);
    return 0;
  } catch (err) {
    fail(err);
  } finally {
    await store.close();
  }
}
