import type { GraphNode } from './api';

/** Node colours by type (also the legend). */
export const TYPE_COLORS: Record<string, string> = {
  Alert: '#d62728',
  Invocation: '#9467bd',
  Unit: '#b07cd8',
  Process: '#1f77b4',
  File: '#2ca02c',
  Endpoint: '#ff7f0e',
  Pipe: '#8c564b',
  Connection: '#c49c94',
  GpuBuffer: '#17becf',
  GpuKernel: '#0b7f8c',
  Instance: '#7f7f7f',
  Gap: '#e377c2',
  Span: '#bcbd22',
};

export function time(us: number | undefined): string {
  if (!us) return '-';
  return new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').replace('Z', '');
}

/** A short, printable name for a node. */
export function nodeName(n: GraphNode): string {
  if (n.redacted) return `${n.type} (another tenant's)`;
  const s = (k: string) => (typeof n[k] === 'string' || typeof n[k] === 'number' ? String(n[k]) : '');
  switch (n.type) {
    case 'Process': {
      const argv = Array.isArray(n.argv) ? (n.argv as string[]).join(' ') : s('exe');
      return `${argv || s('exe')} [${s('pid')}]`;
    }
    case 'File':
      return `${n.volume ? `${s('volume')}:` : ''}${s('path')}${n.version ? '' : ' (initial)'}`;
    case 'Endpoint':
      return `${s('address')}:${s('port')}`;
    case 'Unit':
      return `unit of ${s('pid')} in ${s('callId')}`;
    case 'Invocation':
      return `invocation ${s('callId')}${n.function ? ` of ${s('function')}` : ''}`;
    case 'Alert':
      return `${s('severity')}: ${s('summary')}`;
    case 'Gap':
      return `gap: ${s('cause')} (${s('count')} ${s('cause').endsWith('-inferred') ? 'inferred' : 'lost'})`;
    case 'Instance':
      return `instance ${s('function') || s('exe')}`;
    case 'GpuBuffer':
      return `GPU buffer ${s('ptr')}`;
    case 'GpuKernel':
      return `GPU kernel ${s('symbol') || s('func')}`;
    case 'Pipe':
      return `${s('kind')} of ${s('pid')}`;
    case 'Connection':
      return `${n.flow === 'toServer' ? 'request to' : 'response from'} ${s('server') || '?'}${n.client ? ` (client ${s('client')})` : ''}`;
    case 'Span':
      return `span ${s('name') || s('spanId')}${n.callId ? ` in ${s('callId')}` : ''}`;
    default:
      return n.type;
  }
}

/** A node's own time, for the left-to-right layout and the time filter. */
export function nodeTime(n: GraphNode): number | undefined {
  for (const k of ['start', 'time', 'allocated', 'created', 'opened', 'from', 'version']) {
    const v = n[k];
    if (typeof v === 'number' && v > 0) return v;
  }
  return undefined;
}
