import { isIP } from 'node:net';

/**
 * The product's own telemetry plumbing: where spans go (the agent's OTLP receiver, or the address
 * an instance's environment names for its exporter, such as the relay `faasprov functions up`
 * points each namespace at). An Endpoint there is marked `role: 'telemetry'`: what is sent to it
 * goes to the agent, never to another function, so the attack view never links two writers
 * through it (docs/attack-view.md, rule 0).
 */

/** The variables an OpenTelemetry SDK reads for where to send spans, per-signal first. */
export const OTLP_ENV_KEYS = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'];

/** The key connects are compared with: ADDRESS:PORT, IPv6 without brackets. */
export function telemetryKey(address: string, port: number): string {
  return `${address}:${port}`;
}

/**
 * The receiver an environment's OTLP variables name, as telemetryKey()s. Only IP literals and
 * localhost: a name would need the instance's resolver, and a guess could mark a real peer.
 * No port: OTLP/HTTP's default, 4318 (4317 for gRPC is named explicitly by whoever uses it).
 */
export function telemetryTargets(env: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const k of OTLP_ENV_KEYS) {
    const v = env.get(k);
    if (!v) continue;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      continue;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 4318;
    const addresses = host === 'localhost' ? ['127.0.0.1', '::1'] : isIP(host) ? [host] : [];
    for (const a of addresses) out.add(telemetryKey(a, port));
  }
  return [...out].sort();
}

/** The agent's own receiver (--otlp HOST:PORT) as telemetryKey()s; none for a wildcard host or port 0. */
export function receiverKeys(host: string, port: number): string[] {
  if (port === 0) return [];
  const h = host.replace(/^\[|\]$/g, '');
  return telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', `http://${h.includes(':') ? `[${h}]` : h}:${port}`]]));
}
