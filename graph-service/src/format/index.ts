import type { SerializedGraph } from '@faasprov/model';
import { formatDot } from './dot.js';
import { formatTree } from './tree.js';
import { formatProvJson } from './prov-json.js';
import { formatGraphml } from './graphml.js';

export const FORMATS = ['tree', 'json', 'dot', 'prov-json', 'graphml'] as const;
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
    case 'prov-json':
      return formatProvJson(g);
    case 'graphml':
      return formatGraphml(g);
  }
}
export { formatDot, formatTree, formatProvJson, formatGraphml };
export { nodeLabel, printable } from './label.js';
export { renderGraphviz } from './graphviz.js';
export { formatAttack, viewNodeLabel } from './attack.js';
