import { writeFileSync } from 'node:fs';
import type { SerializedGraph } from '@faasprov/model';
import { FORMATS, formatDot, formatGraph, renderGraphviz, type Format } from '@faasprov/graph-service';
import { fail } from './output.js';

/** Everything --format takes: the text formats, and pictures through Graphviz. */
export const CLI_FORMATS = [...FORMATS, 'svg', 'png'] as const;
export type CliFormat = (typeof CLI_FORMATS)[number];

/** The graph in the asked format; svg and png are DOT rendered by Graphviz. */
export async function render(g: SerializedGraph, format: CliFormat, title?: string): Promise<string | Buffer> {
  if (format !== 'svg' && format !== 'png') return formatGraph(g, format as Format, title);
  try {
    return await renderGraphviz(formatDot(g), format);
  } catch (err) {
    fail(err);
  }
}

/** Writes a rendering to --out, or to a stream; a picture never goes to a terminal. */
export function emitRendered(out: string | Buffer, file: string | undefined, stream: NodeJS.WriteStream): void {
  if (file) writeFileSync(file, out);
  else if (Buffer.isBuffer(out) && stream.isTTY) fail(new Error('not writing a picture to a terminal: give --out FILE'));
  else stream.write(out);
}
