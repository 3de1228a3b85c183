import { existsSync } from 'node:fs';
import { nodeLabel, trace } from '@faasprov/graph-service';
import { emitRendered, render, type CliFormat } from '../render.js';
import { fail, openStore } from '../output.js';

export interface TraceCliOptions {
  store: string;
  backward?: boolean;
  forward?: boolean;
  format: CliFormat;
  out?: string;
  maxDepth: number;
}

/** faasprov trace NODE_ID --backward|--forward: a time-respecting trace from a stored graph. */
export async function traceCommand(id: string, o: TraceCliOptions): Promise<number> {
  if (!!o.backward === !!o.forward) fail(new Error('say one direction: --backward (root cause) or --forward (impact)'));
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(o.store);
  if (!isUrl && !existsSync(o.store.replace(/^sqlite:/, ''))) fail(new Error(`no store at ${o.store} (set --store or FAASPROV_STORE)`));
  const store = await openStore(o.store);
  try {
    const r = await trace(store, id, { direction: o.backward ? 'backward' : 'forward', maxDepth: o.maxDepth });
    const start = r.nodes.find((n) => n.id === id)!;
    const title = `${r.direction} trace from ${nodeLabel(start)}${r.truncated ? ' (truncated)' : ''}`;
    emitRendered(render(r, o.format, title), o.out, process.stdout);
    return 0;
  } catch (err) {
    fail(err);
  } finally {
    await store.close();
  }
}
