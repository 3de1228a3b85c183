import type { ViewNode } from '@faasprov/model';
import type { AttackView } from '../queries/attack-view.js';
import { nodeLabel, printable } from './label.js';

export function viewNodeLabel(n: ViewNode): string {
  return n.type === 'Summary' ? printable(`[${n.label}]`) : nodeLabel(n);
}

/** An attack view for a terminal: the numbered steps, then what it shows (summaries in brackets, with their ids to expand). */
export function formatAttack(v: AttackView, title?: string): string {
  const lines: string[] = title ? [title, ''] : [];
  lines.push('steps:');
  v.steps.forEach((s, i) => lines.push(`${String(i + 1).padStart(3)}. ${s}`));
  lines.push('', `shown: ${v.nodes.length} nodes (${v.folded.nodes.length} folded into ${v.nodes.filter((n) => n.type === 'Summary').length} summaries; --view full shows them)`);
  for (const n of v.nodes) lines.push(`  ${viewNodeLabel(n)}  ${n.id}`);
  return lines.join('\n') + '\n';
}
