import type { GraphEdge, GraphNode, SerializedGraph } from '@faasprov/model';

/** The namespace of faasprov's own attributes and ids in PROV documents. */
export const FAASPROV_NS = 'https://faasprov.dev/ns/prov#';

const q = (id: string) => `faasprov:${id}`;
/** An xsd:dateTime with µs, or undefined for a time no date can hold (the raw µs stay in faasprov:start). */
const iso = (us: number): string | undefined => {
  const d = new Date(Math.floor(us / 1000));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);
};

const KIND: Record<GraphNode['type'], 'entity' | 'activity' | 'agent'> = {
  Process: 'activity',
  File: 'entity',
  Endpoint: 'entity',
  Pipe: 'entity',
  Connection: 'entity',
  Gap: 'entity',
  Instance: 'agent',
  Invocation: 'activity',
  Span: 'activity',
  Unit: 'activity',
  GpuKernel: 'activity',
  GpuBuffer: 'entity',
  Alert: 'entity',
};

/** PROV-JSON attribute values: scalars as they are, lists (argv) as one JSON string, in order. */
function attributes(n: GraphNode): Record<string, unknown> {
  const out: Record<string, unknown> = { 'prov:type': q(n.type), 'prov:label': label(n) };
  for (const [k, v] of Object.entries(n)) {
    if (k === 'id' || k === 'type' || v === undefined) continue;
    out[q(k)] = Array.isArray(v) ? JSON.stringify(v) : v;
  }
  if ((n.type === 'Process' || n.type === 'Unit' || n.type === 'Invocation') && n.start !== undefined) {
    const start = iso(n.start);
    const end = n.end === undefined ? undefined : iso(n.end);
    if (start) out['prov:startTime'] = start;
    if (end) out['prov:endTime'] = end;
  }
  return out;
}

function label(n: GraphNode): string {
  if ((n as { redacted?: boolean }).redacted) return `${n.type} (another tenant's: redacted)`;
  switch (n.type) {
    case 'Process':
      return n.argv.length > 0 ? n.argv.join(' ') : n.exe;
    case 'File':
      return n.path;
    case 'Endpoint':
      return `${n.address}:${n.port}`;
    case 'Gap':
      return `gap: ${n.cause}`;
    case 'Instance':
      return n.function ?? n.exe ?? `instance ${n.rootPid}`;
    case 'Pipe':
      return `${n.kind} of ${n.pid}`;
    case 'Connection':
      return `connection ${n.flow} ${n.server ?? '?'}${n.client ? ` (client ${n.client})` : ''}`;
    case 'Invocation':
      return `invocation ${n.callId}`;
    case 'Unit':
      return `unit of ${n.pid} in ${n.callId}`;
    case 'GpuBuffer':
      return `gpu buffer ${n.ptr}`;
    case 'GpuKernel':
      return `gpu kernel ${n.symbol ?? n.func}`;
    case 'Alert':
      return `${n.severity} alert: ${n.rule}`;
    case 'Span':
      return `span ${n.name ?? n.spanId}`;
  }
}

function relation(e: GraphEdge): [string, Record<string, unknown>] {
  const extra: Record<string, unknown> = { [q('firstTime')]: e.firstTime, [q('lastTime')]: e.lastTime, [q('count')]: e.count, [q('bytes')]: e.bytes };
  for (const [k, v] of Object.entries(e.attrs ?? {})) if (v !== undefined) extra[q(k)] = v;
  switch (e.type) {
    case 'USED':
      return ['used', { 'prov:activity': q(e.from), 'prov:entity': q(e.to), 'prov:time': iso(e.firstTime), ...extra }];
    case 'WAS_GENERATED_BY':
      return ['wasGeneratedBy', { 'prov:entity': q(e.from), 'prov:activity': q(e.to), 'prov:time': iso(e.firstTime), ...extra }];
    case 'WAS_INFORMED_BY':
      return ['wasInformedBy', { 'prov:informed': q(e.from), 'prov:informant': q(e.to), ...extra }];
    case 'WAS_INVALIDATED_BY':
      return ['wasInvalidatedBy', { 'prov:entity': q(e.from), 'prov:activity': q(e.to), 'prov:time': iso(e.firstTime), ...extra }];
    case 'WAS_ASSOCIATED_WITH':
      return ['wasAssociatedWith', { 'prov:activity': q(e.from), 'prov:agent': q(e.to), ...extra }];
    case 'WAS_ATTRIBUTED_TO':
      return ['wasAttributedTo', { 'prov:entity': q(e.from), 'prov:agent': q(e.to), ...extra }];
    case 'CONCERNS':
      return ['wasInfluencedBy', { 'prov:influencee': q(e.from), 'prov:influencer': q(e.to), 'prov:type': q('CONCERNS'), ...extra }];
    case 'WAS_DERIVED_FROM':
      return ['wasDerivedFrom', { 'prov:generatedEntity': q(e.from), 'prov:usedEntity': q(e.to), ...extra }];
    case 'PART_OF':
      // PROV has no part-of between activities: the unit was informed by its invocation.
      return ['wasInformedBy', { 'prov:informed': q(e.from), 'prov:informant': q(e.to), 'prov:type': q('PART_OF'), ...extra }];
  }
}

/** W3C PROV-JSON (https://www.w3.org/submissions/prov-json/). */
export function formatProvJson(g: SerializedGraph): string {
  const doc: Record<string, Record<string, unknown>> = { prefix: { faasprov: FAASPROV_NS } };
  const put = (section: string, id: string, value: Record<string, unknown>) => {
    doc[section] ??= {};
    doc[section]![id] = value;
  };
  for (const n of g.nodes) put(KIND[n.type], q(n.id), attributes(n));
  for (const e of g.edges) {
    const [section, value] = relation(e);
    put(section, q(e.id), value);
  }
  return JSON.stringify(doc, null, 2) + '\n';
}
