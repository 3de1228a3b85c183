import type { GraphStore } from '@faasprov/store';
import { attackView, trace, viewNodeLabel } from '@faasprov/graph-service';
import { ALL_TENANTS, type AlertNode, type GraphNode } from '@faasprov/model';

/**
 * One scenario's figures: the backward trace from its alert in both views, its size, recall
 * (ground-truth nodes found) and precision (ground truth over every node the view shows). The
 * attack view's folded context hangs from its nodes in groups; `precision counting context groups`
 * counts each group as one more node, as the earlier summary nodes were counted.
 */
export async function viewPrecision(store: GraphStore, name: string, alert: AlertNode, truthNodes: GraphNode[]): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const t = await trace(store, alert.id, { direction: 'backward', scope: ALL_TENANTS });
  const truth = new Set([alert.id, ...truthNodes.map((n) => n.id)]);
  out[`${name} ground truth`] = truth.size;
  const found = t.nodes.filter((n) => truth.has(n.id)).length;
  out[`${name} full: nodes`] = t.nodes.length;
  out[`${name} full: recall`] = found / truth.size;
  out[`${name} full: precision`] = found / t.nodes.length;
  const v = await attackView(store, t, ALL_TENANTS);
  const foundA = v.nodes.filter((n) => truth.has(n.id)).length;
  out[`${name} attack: nodes`] = v.nodes.length;
  out[`${name} attack: context groups`] = v.context.length;
  out[`${name} attack: recall`] = foundA / truth.size;
  out[`${name} attack: precision`] = foundA / v.nodes.length;
  out[`${name} attack: precision counting context groups`] = foundA / (v.nodes.length + v.context.length);
  // What the view shows beyond the ground truth, what it missed, and what it folded, in words.
  out[`${name} attack: shown beyond truth`] = inWords(v.nodes.filter((n) => !truth.has(n.id)));
  const shown = new Set(v.nodes.map((n) => n.id));
  const missed = [...truth].filter((id) => !shown.has(id));
  if (missed.length > 0) out[`${name} attack: missed`] = missed.map((id) => viewNodeLabel([...t.nodes, ...truthNodes].find((n) => n.id === id) ?? alert)).join('; ');
  out[`${name} attack: context`] = v.context.map((c) => c.label).join('; ') || 'none';
  return out;
}

/** Nodes in words for a table cell: by type, then the first few by name. */
function inWords(ns: GraphNode[]): string {
  if (ns.length === 0) return 'none';
  const byType = new Map<string, number>();
  for (const n of ns) byType.set(n.type, (byType.get(n.type) ?? 0) + 1);
  const types = [...byType].sort(([a], [b]) => a.localeCompare(b)).map(([t, c]) => `${c} ${t}`).join(', ');
  const names = ns.slice(0, 8).map((n) => viewNodeLabel(n).replaceAll('|', '/'));
  return `${ns.length} (${types}): ${names.join('; ')}${ns.length > names.length ? '; …' : ''}`;
}
