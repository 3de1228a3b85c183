import type { SerializedGraph } from '@faasprov/model';
import { formatDot } from './dot.js';
import { formatTree } from './tree.js';

export const FORMATS = ['tree', 'json', 'dot'] as const;
export type Format = (typeof FORMATS)[number];

/** The stable JSON graph format: {nodes:[{id,type,...}], edges:[{id,type,from,to,...}]}. */
export function formatJson(g: SerializedGraph): string {
  return JSON.stringify({ nodes: g.nodes, edges: g.edges }, null, 2) + '\n';
}

export function formatGraph(g: SerializedGraph, format: Format, title?: string): string {
  switch (format) {
    case 'json':
      return formatJson(g);
    case 'dot':
      return formatDot(g);
    case 'tree':
      return formatTree(g, title);
  }
}
export { formatDot, formatTree };
export { nodeLabel, printable } from './label.js';
