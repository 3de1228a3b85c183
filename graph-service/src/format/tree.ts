import type { GraphEdge, GraphNode, SerializedGraph } from '@faasprov/model';
import { nodeLabel } from './label.js';

const VERB: Record<GraphEdge['type'], string> = {
  USED: 'used',
  WAS_GENERATED_BY: 'wrote',
  WAS_INFORMED_BY: 'started',
  WAS_INVALIDATED_BY: 'deleted',
  WAS_ASSOCIATED_WITH: 'runs in',
  WAS_ATTRIBUTED_TO: 'concerns',
  PART_OF: 'part of',
  CONCERNS: 'flagged by',
  WAS_DERIVED_FROM: 'extends',
};

/** What does things: processes, the units of invocations inside them, GPU kernels they launch. */
const ACTORS = new Set<GraphNode['type']>(['Process', 'Unit', 'GpuKernel']);

function amount(e: GraphEdge): string {
  const a = e.attrs ?? {};
  const notes = [
    a.readWhileWrite ? 'read while being written' : '',
    a.crossTenant ? 'another tenant' : '',
    a.rc ? `failed, rc ${a.rc}` : '',
  ].filter(Boolean);
  return `${e.count}×${e.bytes > 0 ? `, ${e.bytes} B` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`;
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
    if (e.type === 'WAS_INFORMED_BY' && ACTORS.has(byId.get(e.from)!.type) && ACTORS.has(byId.get(e.to)!.type)) {
      push(children, e.to, e);
      hasParent.add(e.from);
    } else if (ACTORS.has(byId.get(e.from)!.type)) {
      push(effects, e.from, e);
      attached.add(e.to);
    } else if (ACTORS.has(byId.get(e.to)!.type)) {
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
  const start = (n: GraphNode) => ('start' in n && typeof n.start === 'number' ? n.start : 0);
  const roots = g.nodes.filter((n) => ACTORS.has(n.type) && !hasParent.has(n.id));
  for (const r of roots.sort((a, b) => start(a) - start(b))) walk(r.id, '', true);
  // Activities only reachable through a cycle of WAS_INFORMED_BY (should not happen) still show.
  for (const n of g.nodes) if (ACTORS.has(n.type) && !seen.has(n.id)) walk(n.id, '', true);
  const loose: GraphNode[] = g.nodes.filter((n) => !ACTORS.has(n.type) && !attached.has(n.id) && !seen.has(n.id));
  if (loose.length > 0) {
    lines.push('not linked to a process:');
    loose.forEach((n, i) => lines.push(`${i === loose.length - 1 ? '└─ ' : '├─ '}${nodeLabel(n)}`));
  }
  return lines.join('\n') + '\n';
}
