import type { GraphEdge, GraphNode, SerializedGraph } from '@faasprov/model';
import { nodeLabel } from './label.js';

const VERB: Record<GraphEdge['type'], string> = {
  USED: 'used',
  WAS_GENERATED_BY: 'wrote',
  WAS_INFORMED_BY: 'started',
  WAS_INVALIDATED_BY: 'deleted',
  WAS_ASSOCIATED_WITH: 'runs in',
  WAS_ATTRIBUTED_TO: 'concerns',
};

function amount(e: GraphEdge): string {
  return `${e.count}×${e.bytes > 0 ? `, ${e.bytes} B` : ''}`;
}

/**
 * The process tree (children under the image that forked or exec'ed them), each process with
 * what it used and wrote; entities and gaps not attached to any process come last.
 */
export function formatTree(g: SerializedGraph, title?: string): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const children = new Map<string, GraphEdge[]>();
  const effects = new Map<string, GraphEdge[]>();
  const hasParent = new Set<string>();
  const attached = new Set<string>();
  const push = (m: Map<string, GraphEdge[]>, k: string, e: GraphEdge) => m.set(k, [...(m.get(k) ?? []), e]);
  for (const e of g.edges) {
    if (!byId.has(e.from) || !byId.has(e.to)) continue;
    if (e.type === 'WAS_INFORMED_BY') {
      push(children, e.to, e);
      hasParent.add(e.from);
    } else if (byId.get(e.from)!.type === 'Process') {
      push(effects, e.from, e);
      attached.add(e.to);
    } else if (byId.get(e.to)!.type === 'Process') {
      push(effects, e.to, e);
      attached.add(e.from);
    }
  }
  const lines: string[] = title ? [title] : [];
  const seen = new Set<string>();
  const walk = (id: string, prefix: string, last: boolean, edge?: GraphEdge): void => {
    const n = byId.get(id)!;
    const head = prefix === '' && !edge ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
    lines.push(`${head}${nodeLabel(n)}${seen.has(id) ? ' (see above)' : ''}`);
    if (seen.has(id)) return;
    seen.add(id);
    const inner = prefix === '' && !edge ? '' : `${prefix}${last ? '   ' : '│  '}`;
    const eff = (effects.get(id) ?? []).sort((a, b) => a.firstTime - b.firstTime);
    const kids = (children.get(id) ?? []).sort((a, b) => a.firstTime - b.firstTime);
    eff.forEach((e, i) => {
      const other = byId.get(e.from === id ? e.to : e.from)!;
      const isLast = i === eff.length - 1 && kids.length === 0;
      lines.push(`${inner}${isLast ? '└─ ' : '├─ '}${VERB[e.type]} ${nodeLabel(other)} (${amount(e)})`);
    });
    kids.forEach((e, i) => walk(e.from, inner, i === kids.length - 1, e));
  };
  const roots = g.nodes.filter((n) => n.type === 'Process' && !hasParent.has(n.id));
  for (const r of roots.sort((a, b) => (a.type === 'Process' && b.type === 'Process' ? a.start - b.start : 0))) walk(r.id, '', true);
  // Processes only reachable through a cycle of WAS_INFORMED_BY (should not happen) still show.
  for (const n of g.nodes) if (n.type === 'Process' && !seen.has(n.id)) walk(n.id, '', true);
  const loose: GraphNode[] = g.nodes.filter((n) => n.type !== 'Process' && !attached.has(n.id));
  if (loose.length > 0) {
    lines.push('not linked to a process:');
    loose.forEach((n, i) => lines.push(`${i === loose.length - 1 ? '└─ ' : '├─ '}${nodeLabel(n)}`));
  }
  return lines.join('\n') + '\n';
}
