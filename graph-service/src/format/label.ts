import { isInferenceGap, type GraphNode } from '@faasprov/model';

/** Makes any string safe for a terminal or a DOT label: control bytes become \xNN. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function nodeLabel(n: GraphNode): string {
  if ((n as { redacted?: boolean }).redacted) return `${n.type} (another tenant's: redacted)`;
  switch (n.type) {
    case 'Process': {
      const argv = n.argv.length > 0 ? n.argv.join(' ') : n.exe;
      return printable(`Process ${n.pid} ${argv}${n.exitCode !== undefined ? ` [exit ${n.exitCode}]` : ''}`);
    }
    case 'File':
      return printable(`File ${n.volume ? `${n.volume}:` : ''}${n.path}${n.pathTruncated ? '…' : ''} @${n.version === 0 ? 'initial' : `v${n.version}`}${n.deleted ? ' (deleted)' : ''}`);
    case 'Endpoint':
      return printable(`Endpoint ${n.address.includes(':') ? `[${n.address}]` : n.address}:${n.port}`);
    case 'Gap':
      return printable(`Gap ${n.cause}: ${n.count} ${isInferenceGap(n) ? 'inferred' : 'lost'}`);
    case 'Instance':
      return printable(`Instance ${n.function ?? n.exe ?? '?'} (root ${n.rootPid}${n.cgroupPath ? `, ${n.cgroupPath}` : ''})`);
    case 'Pipe':
      return printable(`Pipe ${n.kind} made by ${n.pid}`);
    case 'Connection':
      return printable(`Connection ${n.flow === 'toServer' ? 'to' : 'from'} ${n.server ?? '?'}${n.client ? ` ${n.flow === 'toServer' ? 'from' : 'to'} ${n.client}` : ''}`);
    case 'Invocation':
      return printable(`Invocation ${n.callId}${n.function ? ` of ${n.function}` : ''}`);
    case 'Unit':
      return printable(`Unit of ${n.pid} in ${n.callId}`);
    case 'GpuBuffer':
      return printable(`GpuBuffer ${n.ptr}${n.size !== undefined ? ` (${n.size} bytes)` : ''}${n.version ? ` version ${n.version}` : ''} on ${n.device}${n.rc ? ` [rc ${n.rc}]` : ''}`);
    case 'Alert':
      return printable(`Alert ${n.severity} ${n.rule}: ${n.summary}`);
    case 'GpuKernel':
      return printable(`GpuKernel ${n.symbol ?? n.func} by ${n.pid}${n.rc ? ` [rc ${n.rc}]` : ''}`);
    case 'Span':
      return printable(`Span ${n.kind ?? ''} ${n.name ?? n.spanId}${n.callId ? ` in ${n.callId}` : ''}`.replace(/ {2,}/g, ' '));
  }
}
