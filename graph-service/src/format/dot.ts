import type { SerializedGraph } from '@faasprov/model';
import { nodeLabel } from './label.js';

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const SHAPE = {
  Process: 'box', File: 'note', Endpoint: 'diamond', Gap: 'octagon', Instance: 'house', Pipe: 'cds', Connection: 'cds',
  Invocation: 'component', Unit: 'box3d', GpuBuffer: 'cylinder', GpuKernel: 'hexagon', Alert: 'doubleoctagon', Span: 'ellipse',
} as const;

/** Graphviz DOT, edges in W3C PROV direction. */
export function formatDot(g: SerializedGraph): string {
  const out = ['digraph provenance {', '  rankdir=LR;'];
  for (const n of g.nodes) {
    out.push(`  ${quote(n.id)} [label=${quote(nodeLabel(n))}, shape=${SHAPE[n.type]}];`);
  }
  for (const e of g.edges) {
    const flags = Object.entries(e.attrs ?? {}).map(([k, v]) => (v === true ? k : `${k}=${v}`));
    out.push(`  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(`${e.type} ×${e.count}${flags.length ? ` (${flags.join(', ')})` : ''}`)}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
