import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api, ApiError, type Alert, type Graph, type GraphNode, type InstanceHealth, type InvocationView, type TimelineEntry } from './api';
import { GraphView, type Filters } from './GraphView';
import { nodeName, time, TYPE_COLORS } from './labels';
import { StoryView } from './StoryView';
import type { AttackView } from './story';

type View = { name: 'alerts' } | { name: 'instances' } | { name: 'search' } | { name: 'investigate'; from: string; title: string; story?: boolean };

function useAsync<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean } {
  const [s, set] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  useEffect(() => {
    let live = true;
    set({ loading: true });
    load().then(
      (data) => live && set({ data, loading: false }),
      (err: Error) => live && set({ error: err.message, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return s;
}

function SignIn(props: { onSignIn: (api: Api) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const api = new Api(key.trim());
    try {
      await api.alerts(1);
      sessionStorage.setItem('faasprov-key', key.trim());
      props.onSignIn(api);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That key is not valid.' : (err as Error).message);
    }
  };
  return (
    <main className="signin">
      <h1>faasprov</h1>
      <p>Provenance of your functions: sign in with an API key (investigator or admin).</p>
      <form onSubmit={submit}>
        <label htmlFor="key">API key</label>
        <input id="key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} autoFocus />
        <button type="submit">Sign in</button>
      </form>
      {error ? <p role="alert" className="error">{error}</p> : null}
    </main>
  );
}

function Alerts(props: { api: Api; open: (v: View) => void }) {
  const { data, error, loading } = useAsync(() => props.api.alerts(200), []);
  if (loading) return <p>Loading alerts…</p>;
  if (error) return <p role="alert" className="error">{error}</p>;
  const alerts = data!.alerts;
  return (
    <section aria-labelledby="alerts-h">
      <h2 id="alerts-h">Alerts ({alerts.length})</h2>
      {alerts.length === 0 ? <p>No alerts.</p> : null}
      <table className="alerts">
        <thead>
          <tr><th>Time</th><th>Severity</th><th>Rule</th><th>Function</th><th>What happened</th><th></th></tr>
        </thead>
        <tbody>
          {alerts.map((a: Alert) => (
            <tr key={a.id} className={`sev-${a.severity}`}>
              <td>{time(a.time)}</td>
              <td><span className={`badge sev-${a.severity}`}>{a.severity}</span></td>
              <td>{a.rule}</td>
              <td>{a.function ?? '-'}</td>
              <td>{a.summary}</td>
              <td>
                <button onClick={() => props.open({ name: 'investigate', from: a.id, title: `${a.rule}: ${a.summary}`, story: true })} aria-label={`Investigate ${a.rule} ${a.summary}`}>
                  Investigate
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The invocations linked to this one, callers first, and what each says beside what the kernel saw. */
function CallChain(props: { view: InvocationView; callId: string }) {
  const { chain, facts } = props.view;
  if (chain.invocations.length < 2 && facts.every((f) => !f.app && f.contradictions.length === 0)) return null;
  const name = new Map(chain.invocations.map((n) => [n.id, String(n.callId)]));
  const callers = new Map(chain.links.map((l) => [l.from, l]));
  return (
    <section aria-label={`call chain of invocation ${props.callId}`}>
      <h3>Call chain</h3>
      <ol className="chain">
        {chain.invocations.map((n) => {
          const up = callers.get(n.id);
          return (
            <li key={n.id} aria-current={n.callId === props.callId ? 'true' : undefined}>
              <strong>{String(n.callId)}</strong>{n.function ? ` (${String(n.function)})` : ''}
              {up ? ` ← called by ${name.get(up.to) ?? '?'}${up.inferred ? ' (inferred from the connection)' : ' (traceparent)'}` : ''}
            </li>
          );
        })}
      </ol>
      {facts.map((f) => (
        <p key={f.invocation} className="facts">
          {f.app ? `Spans say: ${[f.app.function, f.app.trigger, f.app.coldStart ? 'cold start' : null, f.app.status].filter(Boolean).join(', ')}. ` : 'No spans. '}
          Kernel saw {String(f.kernel.units)} unit(s).
          {f.contradictions.map((c) => <span key={c} role="note" className="error"> Contradiction: {c}.</span>)}
        </p>
      ))}
    </section>
  );
}

function Timeline(props: { api: Api; callId: string }) {
  const { data, error, loading } = useAsync(() => props.api.invocation(props.callId), [props.callId]);
  if (loading) return <p>Loading the invocation…</p>;
  if (error) return <p className="error">{error}</p>;
  return (
    <>
    <CallChain view={data!} callId={props.callId} />
    <section aria-label={`timeline of invocation ${props.callId}`}>
      <h3>Invocation {props.callId}: timeline</h3>
      <ol className="timeline">
        {data!.timeline.map((e: TimelineEntry, i) => (
          <li key={i}>
            <time>{time(e.time)}</time> {e.action.toLowerCase().replace(/_/g, ' ')} {nodeName(e.object)} ({e.count}×{e.bytes ? `, ${e.bytes} B` : ''})
          </li>
        ))}
      </ol>
    </section>
    </>
  );
}

function download(blob: Blob, name: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function Investigation(props: { api: Api; from: string; title: string; story?: boolean }) {
  const [direction, setDirection] = useState<'backward' | 'forward'>('backward');
  // An alert opens as a story (the attack view); full provenance is one click away.
  const [mode, setMode] = useState<'attack' | 'full'>(props.story ? 'attack' : 'full');
  const [story, setStory] = useState<AttackView>();
  const [graph, setGraph] = useState<Graph>();
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [hideInitial, setHideInitial] = useState(false);
  const [window, setWindow] = useState<[number, number]>([0, 100]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setGraph(undefined);
    setSelected(undefined);
    setStory(undefined);
    if (mode === 'attack') props.api.attackView(props.from, direction).then(setStory, (e: Error) => setError(e.message));
    else props.api.trace(props.from, direction).then(setGraph, (e: Error) => setError(e.message));
  }, [props.from, direction, props.api, mode]);
  const span = useMemo(() => {
    const ts = (graph?.edges ?? []).flatMap((e) => [e.firstTime, e.lastTime]);
    return ts.length ? [Math.min(...ts), Math.max(...ts)] : [0, 0];
  }, [graph]);
  const filters: Filters = useMemo(() => {
    const [lo, hi] = span as [number, number];
    const at = (p: number) => lo + ((hi - lo) * p) / 100;
    return { hiddenTypes: hidden, hideInitial, ...(window[0] > 0 ? { from: at(window[0]) } : {}), ...(window[1] < 100 ? { until: at(window[1]) } : {}) };
  }, [hidden, hideInitial, window, span]);
  const expand = useCallback(async (id: string) => {
    setBusy(true);
    try {
      const [b, f] = await Promise.all([props.api.trace(id, 'backward', 1), props.api.trace(id, 'forward', 1)]);
      setGraph((g) => {
        if (!g) return g;
        const nodes = new Map(g.nodes.map((n) => [n.id, n]));
        const edges = new Map(g.edges.map((e) => [e.id, e]));
        for (const x of [b, f]) {
          for (const n of x.nodes) nodes.set(n.id, n);
          for (const e of x.edges) edges.set(e.id, e);
        }
        return { nodes: [...nodes.values()], edges: [...edges.values()] };
      });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }, [props.api]);
  const exportAs = async (format: 'prov-json' | 'dot' | 'png') => {
    try {
      const blob = await props.api.blob(props.api.exportUrl(props.from, direction, format));
      download(blob, `trace-${props.from}.${format === 'prov-json' ? 'prov.json' : format}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  if (error) return <p role="alert" className="error">{error}</p>;
  const viewChoice = (
    <fieldset>
      <legend>View</legend>
      <label><input type="radio" name="view" checked={mode === 'attack'} onChange={() => setMode('attack')} /> Attack story</label>
      <label><input type="radio" name="view" checked={mode === 'full'} onChange={() => setMode('full')} /> Full provenance</label>
    </fieldset>
  );
  const directionChoice = (
    <fieldset>
      <legend>Direction</legend>
      <label><input type="radio" name="direction" checked={direction === 'backward'} onChange={() => setDirection('backward')} /> Backward (root cause)</label>
      <label><input type="radio" name="direction" checked={direction === 'forward'} onChange={() => setDirection('forward')} /> Forward (impact)</label>
    </fieldset>
  );
  if (mode === 'attack') {
    if (!story) return <p>Tracing…</p>;
    const picked = story.nodes.find((n) => n.id === selected) ?? story.folded.nodes.find((n) => n.id === selected);
    return (
      <section className="investigation" aria-labelledby="inv-h">
        <h2 id="inv-h">Investigation: {props.title}</h2>
        <div className="toolbar">
          {viewChoice}
          {directionChoice}
        </div>
        <StoryView view={story} selected={selected} onSelect={(n) => setSelected(n.id)} />
        {picked ? (
          <aside className="details" aria-label="node details">
            <h3>{picked.type}: {nodeName(picked)}</h3>
            <dl>
              {Object.entries(picked).filter(([k]) => k !== 'type').map(([k, v]) => (
                <div key={k}><dt>{k}</dt><dd>{Array.isArray(v) ? v.join(' ') : String(v)}</dd></div>
              ))}
            </dl>
          </aside>
        ) : null}
      </section>
    );
  }
  if (!graph) return <p>Tracing…</p>;
  const node = graph.nodes.find((n) => n.id === selected);
  const types = [...new Set(graph.nodes.map((n) => n.type))].sort();
  const visible = graph.nodes.filter((n) => !hidden.has(n.type) && !(hideInitial && n.type === 'File' && !n.version));
  return (
    <section className="investigation" aria-labelledby="inv-h">
      <h2 id="inv-h">Investigation: {props.title}</h2>
      <div className="toolbar">
        {viewChoice}
        {directionChoice}
        <fieldset>
          <legend>Node types</legend>
          {types.map((t) => (
            <label key={t} style={{ color: TYPE_COLORS[t] }}>
              <input type="checkbox" checked={!hidden.has(t)} onChange={(e) => {
                const h = new Set(hidden);
                if (e.target.checked) h.delete(t);
                else h.add(t);
                setHidden(h);
              }} /> {t}
            </label>
          ))}
          <label>
            <input type="checkbox" checked={hideInitial} onChange={(e) => setHideInitial(e.target.checked)} /> Hide files read as found
          </label>
        </fieldset>
        <fieldset>
          <legend>Time</legend>
          <label>From <input type="range" min={0} max={100} value={window[0]} onChange={(e) => setWindow([Math.min(Number(e.target.value), window[1]), window[1]])} /></label>
          <label>Until <input type="range" min={0} max={100} value={window[1]} onChange={(e) => setWindow([window[0], Math.max(Number(e.target.value), window[0])])} /></label>
        </fieldset>
        <fieldset>
          <legend>Export</legend>
          <button onClick={() => void exportAs('prov-json')}>Export PROV-JSON</button>
          <button onClick={() => void exportAs('dot')}>Export DOT</button>
          <button onClick={() => void exportAs('png')}>Export PNG</button>
        </fieldset>
      </div>
      <p className="status" role="status">{graph.nodes.length} nodes, {graph.edges.length} edges{busy ? ' (expanding…)' : ''}</p>
      <div className="workspace">
        <GraphView data={graph} filters={filters} selected={selected} onSelect={setSelected} />
        <nav className="nodelist" aria-label="nodes of the trace">
          <ul>
            {visible.slice(0, 2000).map((n) => (
              <li key={n.id}>
                <button className={n.id === selected ? 'selected' : ''} onClick={() => setSelected(n.id)} aria-pressed={n.id === selected}>
                  <span className="dot" style={{ background: TYPE_COLORS[n.type] }} /> {n.type}: {nodeName(n)}
                </button>
              </li>
            ))}
            {visible.length > 2000 ? <li>… {visible.length - 2000} more (use the filters)</li> : null}
          </ul>
        </nav>
        <aside className="details" aria-label="node details">
          {node ? (
            <>
              <h3>{node.type}: {nodeName(node)}</h3>
              <button onClick={() => void expand(node.id)} disabled={busy}>Expand this node</button>
              <dl>
                {Object.entries(node).filter(([k]) => k !== 'type').map(([k, v]) => (
                  <div key={k}><dt>{k}</dt><dd>{Array.isArray(v) ? v.join(' ') : String(v)}</dd></div>
                ))}
              </dl>
              {typeof node.callId === 'string' ? <Timeline api={props.api} callId={node.callId} /> : null}
            </>
          ) : (
            <p>Select a node (click it, or pick it in the list) to see its details.</p>
          )}
        </aside>
      </div>
    </section>
  );
}

function Instances(props: { api: Api }) {
  const { data, error, loading } = useAsync(() => props.api.instances(), []);
  if (loading) return <p>Loading instances…</p>;
  if (error) return <p role="alert" className="error">{error}</p>;
  return (
    <section aria-labelledby="inst-h">
      <h2 id="inst-h">Functions and instances</h2>
      <table className="instances">
        <thead>
          <tr><th>Function</th><th>Instance</th><th>Node</th><th>Processes</th><th>Invocations</th><th>Operations</th><th>Edges stored</th><th>Reduction</th><th>Gaps</th><th>Lost events</th><th title="operations charged by inference (edges marked inferred); nothing lost">Inferred</th></tr>
        </thead>
        <tbody>
          {data!.instances.map((i: InstanceHealth) => (
            <tr key={i.instance.id}>
              <td>{String(i.instance.function ?? '-')}</td>
              <td>root {String(i.instance.rootPid)} since {time(i.instance.start as number)}</td>
              <td>{String(i.instance.node)}</td>
              <td>{i.processes}</td>
              <td>{i.invocations}</td>
              <td>{i.operations}</td>
              <td>{i.edges}</td>
              <td>{i.edges ? `${(i.operations / i.edges).toFixed(1)}×` : '-'}</td>
              <td className={i.gaps > 0 ? 'loss' : ''}>{i.gaps}</td>
              <td className={i.lost > 0 ? 'loss' : ''}>{i.lost}</td>
              <td>{i.inferred}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Search(props: { api: Api; open: (v: View) => void }) {
  const [q, setQ] = useState('');
  const [type, setType] = useState('');
  const [result, setResult] = useState<GraphNode[]>();
  const [error, setError] = useState<string>();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      setResult((await props.api.search(q, type || undefined)).nodes);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section aria-labelledby="search-h">
      <h2 id="search-h">Search</h2>
      <form onSubmit={submit} className="search">
        <label htmlFor="q">Text (path, address, executable, function, call id)</label>
        <input id="q" value={q} onChange={(e) => setQ(e.target.value)} />
        <label htmlFor="type">Type</label>
        <select id="type" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">any</option>
          {Object.keys(TYPE_COLORS).map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <button type="submit">Search</button>
      </form>
      {error ? <p role="alert" className="error">{error}</p> : null}
      {result ? (
        <ul className="results">
          {result.length === 0 ? <li>Nothing found.</li> : null}
          {result.map((n) => (
            <li key={n.id}>
              {n.type}: {nodeName(n)}{' '}
              <button onClick={() => props.open({ name: 'investigate', from: n.id, title: `${n.type} ${nodeName(n)}` })}>Investigate</button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function App() {
  const [api, setApi] = useState<Api | undefined>(() => {
    const k = sessionStorage.getItem('faasprov-key');
    return k !== null ? new Api(k) : undefined;
  });
  const [view, setView] = useState<View>({ name: 'alerts' });
  if (!api) return <SignIn onSignIn={setApi} />;
  const tab = (v: View, label: string) => (
    <button role="tab" aria-selected={view.name === v.name} onClick={() => setView(v)}>{label}</button>
  );
  return (
    <div className="app">
      <header>
        <h1>faasprov</h1>
        <nav role="tablist" aria-label="views">
          {tab({ name: 'alerts' }, 'Alerts')}
          {tab({ name: 'instances' }, 'Functions')}
          {tab({ name: 'search' }, 'Search')}
        </nav>
        <button className="signout" onClick={() => { sessionStorage.removeItem('faasprov-key'); setApi(undefined); }}>Sign out</button>
      </header>
      <main>
        {view.name === 'alerts' ? <Alerts api={api} open={setView} /> : null}
        {view.name === 'instances' ? <Instances api={api} /> : null}
        {view.name === 'search' ? <Search api={api} open={setView} /> : null}
        {view.name === 'investigate' ? <Investigation key={view.from} api={api} from={view.from} title={view.title} story={view.story === true} /> : null}
      </main>
    </div>
  );
}
