import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { SerializedGraph } from '@faasprov/model';
import { FORMATS, formatDot, formatGraph, type Format } from '@faasprov/graph-service';
import { fail } from './output.js';

/** Everything --format takes: the text formats, and pictures through Graphviz. */
export const CLI_FORMATS = [...FORMATS, 'svg', 'png'] as const;
export type CliFormat = (typeof CLI_FORMATS)[number];

/** Graphviz's dot, or where FAASPROV_GRAPHVIZ_DOT says it is. */
function dotBinary(): string {
  return process.env.FAASPROV_GRAPHVIZ_DOT || 'dot';
}

/** The graph in the asked format; svg and png are DOT rendered by Graphviz. */
export function render(g: SerializedGraph, format: CliFormat, title?: string): string | Buffer {
  if (format !== 'svg' && format !== 'png') return formatGraph(g, format as Format, title);
  const r = spawnSync(dotBinary(), [`-T${format}`], { input: formatDot(g), maxBuffer: 256 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    fail(new Error(`--format ${format} needs Graphviz, which is not installed: apt-get install graphviz (or use --format dot and render it elsewhere)`));
  }
  if (r.status !== 0) fail(new Error(`Graphviz failed: ${String(r.stderr).trim().slice(0, 500)}`));
  return r.stdout;
}

/** Writes a rendering to --out, or to a stream; a picture never goes to a terminal. */
export function emitRendered(out: string | Buffer, file: string | undefined, stream: NodeJS.WriteStream): void {
  if (file) writeFileSync(file, out);
  else if (Buffer.isBuffer(out) && stream.isTTY) fail(new Error('not writing a picture to a terminal: give --out FILE'));
  else stream.write(out);
}
