import { useMemo, useState } from 'react';
import type { GraphNode } from './api';
import { TYPE_COLORS } from './labels';
import { contextLabel, expandView, LINE, storyLabel, storyLayout, type AttackView, type ContextGroup } from './story';

const FONT = '12px system-ui, sans-serif';
let ctx: CanvasRenderingContext2D | null | undefined;
/** The label's width in the font it is drawn in (a canvas measures exactly what the SVG draws). */
function measure(label: string): number {
  ctx ??= document.createElement('canvas').getContext('2d');
  if (!ctx) return label.length * 7.5;
  ctx.font = FONT;
  return ctx.measureText(label).width;
}

/**
 * The attack as a story: the attack view laid out left to right by dagre, the context folded into
 * a node drawn inside it (dashed; a click opens it into nodes), the steps beside it.
 */
export function StoryView(props: { view: AttackView; selected?: string; onSelect: (n: GraphNode) => void }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const graph = useMemo(() => expandView(props.view, open), [props.view, open]);
  const laid = useMemo(() => storyLayout(graph, measure), [graph]);
  const expand = (c: ContextGroup) => setOpen(new Set([...open, c.id]));
  return (
    <div className="story">
      <p className="status" role="status">{graph.nodes.length} nodes, {graph.edges.length} edges in the attack view{open.size ? ` (${open.size} context groups opened)` : ''}{props.view.pruned.length ? `; ${props.view.pruned.length} nodes with no data path to it left out (Full provenance shows them)` : ''}</p>
      <div className="story-row">
        <div className="story-graph" data-testid="story-graph">
          {/* Scaled to the panel (labels shrink with their boxes, so they still never overlap), never below 75 % (the panel scrolls). */}
          <svg viewBox={`0 0 ${laid.width} ${laid.height}`} style={{ width: '100%', minWidth: laid.width * 0.75, maxWidth: laid.width, display: 'block', overflow: 'visible' }} role="img" aria-label={`attack story: ${graph.nodes.length} nodes`}>
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill="#999" />
              </marker>
            </defs>
            {graph.edges.map((e) => {
              const pts = laid.edges.get(e.id) ?? [];
              return pts.length ? <polyline key={e.id} points={pts.map((p) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="#bbb" markerEnd="url(#arrow)" /> : null;
            })}
            {graph.nodes.map((n) => {
              const b = laid.boxes.get(n.id)!;
              const inside = graph.context.get(n.id) ?? [];
              return (
                <g key={n.id} className={`story-node${props.selected === n.id ? ' selected' : ''}`} data-node={n.id} data-type={n.type}>
                  <g role="button" tabIndex={0} aria-label={`${n.type}: ${storyLabel(n)}`} onClick={() => props.onSelect(n)} onKeyDown={(ev) => (ev.key === 'Enter' ? props.onSelect(n) : undefined)}>
                    <title>{storyLabel(n)}</title>
                    <rect x={b.x} y={b.y} width={b.width} height={b.height} rx={4} fill="#fff" stroke={TYPE_COLORS[n.type] ?? '#999'} strokeWidth={2} />
                    <text className="story-label" x={b.x + 10} y={b.y + 17} style={{ font: FONT }}>{storyLabel(n)}</text>
                  </g>
                  {inside.map((c, i) => {
                    const y = b.y + 26 + i * LINE;
                    return (
                      <g key={c.id} className="story-context" data-context={c.id} role="button" tabIndex={0} aria-label={`Expand ${c.label}`}
                        onClick={() => expand(c)} onKeyDown={(ev) => (ev.key === 'Enter' ? expand(c) : undefined)}>
                        <title>{`${c.label}: folded context, click to show them`}</title>
                        <rect x={b.x + 5} y={y - 2} width={b.width - 10} height={LINE - 4} rx={9} fill="#f4f4f4" stroke="#888" strokeDasharray="4 3" />
                        <text className="story-label" x={b.x + 12} y={y + 12} style={{ font: FONT }}>{contextLabel(c)}</text>
                      </g>
                    );
                  })}
                </g>
              );
            })}
          </svg>
        </div>
        <ol className="steps" aria-label="steps of the attack">
          {props.view.steps.map((s, i) => <li key={i}>{s}</li>)}
        </ol>
      </div>
    </div>
  );
}
