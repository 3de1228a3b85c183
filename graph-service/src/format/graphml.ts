import type { SerializedGraph } from '@faasprov/model';

const esc = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 cannot carry most control characters, even escaped: write them as \xNN.
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** GraphML: every node attribute as a string key (lists as JSON); edges with times, count, bytes. */
export function formatGraphml(g: SerializedGraph): string {
  const nodeKeys = new Set<string>();
  for (const n of g.nodes) for (const k of Object.keys(n)) if (k !== 'id') nodeKeys.add(k);
  const edgeKeys = ['type', 'firstTime', 'lastTime', 'count', 'bytes'];
  const attrKeys = new Set<string>();
  for (const e of g.edges) for (const k of Object.keys(e.attrs ?? {})) attrKeys.add(k);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    ...[...nodeKeys].sort().map((k) => `  <key id="n_${esc(k)}" for="node" attr.name="${esc(k)}" attr.type="string"/>`),
    ...edgeKeys.map((k) => `  <key id="e_${k}" for="edge" attr.name="${k}" attr.type="${k === 'type' ? 'string' : 'long'}"/>`),
    ...[...attrKeys].sort().map((k) => `  <key id="ea_${esc(k)}" for="edge" attr.name="${esc(k)}" attr.type="string"/>`),
    '  <graph id="provenance" edgedefault="directed">',
  ];
  for (const n of g.nodes) {
    out.push(`    <node id="${esc(n.id)}">`);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'id' || v === undefined) continue;
      out.push(`      <data key="n_${esc(k)}">${esc(Array.isArray(v) ? JSON.stringify(v) : String(v))}</data>`);
    }
    out.push('    </node>');
  }
  for (const e of g.edges) {
    out.push(`    <edge id="${esc(e.id)}" source="${esc(e.from)}" target="${esc(e.to)}">`);
    for (const k of edgeKeys) out.push(`      <data key="e_${k}">${esc(String(e[k as keyof typeof e]))}</data>`);
    for (const [k, v] of Object.entries(e.attrs ?? {})) out.push(`      <data key="ea_${esc(k)}">${esc(String(v))}</data>`);
    out.push('    </edge>');
  }
  out.push('  </graph>', '</graphml>');
  return out.join('\n') + '\n';
}
