import { useEffect, useRef, useState } from 'react';
import Graph from 'graphology';
import Sigma from 'sigma';
import type { Graph as Data } from './api';
import { layout } from './layout';
import { nodeName, TYPE_COLORS } from './labels';

export interface Filters {
  hiddenTypes: Set<string>;
  /** Hide files read as they were found (version 0: no captured process wrote them). */
  hideInitial?: boolean;
  /** Show only what happened in [from, until] (µs); undefined: no bound. */
  from?: number;
  until?: number;
}

/** The trace drawn by sigma.js (WebGL) over a graphology graph; the node list beside it is the keyboard path. */
export function GraphView(props: { data: Data; filters: Filters; selected?: string; onSelect: (id: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const sigma = useRef<Sigma | null>(null);
  const graph = useRef(new Graph({ multi: true, type: 'directed' }));
  const [error, setError] = useState<string>();
  const state = useRef(props);
  state.current = props;

  useEffect(() => {
    const g = graph.current;
    g.clear();
    const placed = layout(props.data);
    for (const n of props.data.nodes) {
      const p = placed.get(n.id)!;
      g.addNode(n.id, { x: p.x, y: p.y, t: p.t, size: n.type === 'Alert' ? 9 : 5, color: TYPE_COLORS[n.type] ?? '#999', label: nodeName(n), nodeType: n.type, initial: n.type === 'File' && !n.version });
    }
    for (const e of props.data.edges) {
      if (g.hasNode(e.from) && g.hasNode(e.to)) g.addDirectedEdgeWithKey(e.id, e.from, e.to, { size: 1, color: '#bbb', type: 'arrow', t: e.firstTime });
    }
    if (!sigma.current && box.current) {
      try {
        const s = new Sigma(g, box.current, {
          renderEdgeLabels: false,
          labelRenderedSizeThreshold: 5,
          labelDensity: 0.3,
          defaultEdgeType: 'arrow',
          nodeReducer: (id, d) => {
            const f = state.current.filters;
            const hidden = f.hiddenTypes.has(d.nodeType as string) || (f.hideInitial === true && d.initial === true) || (f.from !== undefined && (d.t as number) < f.from) || (f.until !== undefined && (d.t as number) > f.until);
            return { ...d, hidden, highlighted: id === state.current.selected, zIndex: id === state.current.selected ? 1 : 0 };
          },
          edgeReducer: (_id, d) => {
            const f = state.current.filters;
            const hidden = (f.from !== undefined && (d.t as number) < f.from) || (f.until !== undefined && (d.t as number) > f.until);
            return { ...d, hidden };
          },
        });
        s.on('clickNode', ({ node }) => state.current.onSelect(node));
        sigma.current = s;
      } catch (err) {
        setError(`the graph cannot be drawn here (${(err as Error).message}); the node list still works`);
      }
    }
    sigma.current?.refresh();
  }, [props.data]);

  useEffect(() => {
    sigma.current?.refresh({ skipIndexation: true });
  }, [props.filters, props.selected]);

  useEffect(() => () => sigma.current?.kill(), []);

  return (
    <div className="graph" role="img" aria-label={`provenance graph: ${props.data.nodes.length} nodes, ${props.data.edges.length} edges`}>
      {error ? <p className="error">{error}</p> : null}
      <div ref={box} className="canvas" data-testid="graph-canvas" />
    </div>
  );
}
