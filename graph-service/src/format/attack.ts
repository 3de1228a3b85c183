import type { ViewNode } from '@faasprov/model';
import type { AttackView } from '../queries/attack-view.js';
import { nodeLabel, printable } from './label.js';

export function viewNodeLabel(n: ViewNode): string {
  return n.type === 'Summary' ? printable(`[${n.label}]`) : nodeLabel(n);
}

/** An attack view for a terminal: the numbered steps, then what it shows, each node with the context folded into it (in brackets). */
export function formatAttack(v: AttackView, title?: string): string {
  const lines: string[] = title ? [title, ''] : [];
  lines.push('steps:');
  v.steps.forEach((s, i) => lines.push(`${String(i + 1).padStart(3)}. ${s}`));
  lines.push('', `shown: ${v.nodes.length} nodes (${v.folded.nodes.length} more folded into ${v.context.length} context groups; ${v.pruned.length} with no data path to the start left out; --view full shows them)`);
  for (const n of v.nodes) {
    lines.push(`  ${viewNodeLabel(n)}  ${n.id}`);
    for (const c of v.context.filter((x) => x.on === n.id)) lines.push(`    + ${viewNodeLabel(c)}  ${c.id}`);
  }
  return lines.join('\n') + '\n';
}
