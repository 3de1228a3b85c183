import { isIP } from 'node:net';

/**
 * The platform's own endpoints, as an instance's environment names them when it starts (set by
 * whoever deploys it, not by the function's code):
 * - telemetry: where spans go (the agent's OTLP receiver, or the relay `faasprov functions up`
 *   points each namespace at). What is sent there goes to the agent, never to another function,
 *   so the attack view never links two writers through it (docs/attack-view.md, rule 0).
 * - gateway: OpenFaaS's gateway, through which functions call each other (`gateway_url`). A call
 *   through it is drawn as the call between the two invocations; the attack view shows the
 *   gateway's address as context of that call (rule 6).
 * An Endpoint a connect reaches there is marked with that `role`.
 */

/** The variables an OpenTelemetry SDK reads for where to send spans, per-signal first. */
export const OTLP_ENV_KEYS = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'];
/** OpenFaaS's variable for the gateway functions call each other through. */
export const GATEWAY_ENV_KEYS = ['gateway_url'];

/** The key connects are compared with: ADDRESS:PORT, IPv6 without brackets. */
export function endpointKey(address: string, port: number): string {
  return `${address}:${port}`;
}

/**
 * The endpoints an http(s) URL names, as endpointKey()s: an IP literal, localhost, or a name the
 * instance's own hosts file gives (its /etc/hosts, where a namespace's cluster names are); any
 * other name would need its resolver, and a guess could mark a real peer.
 */
function urlTargets(value: string, defaultPort: number, hosts: string | undefined): string[] {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return [];
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return [];
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : defaultPort;
  const addresses = host === 'localhost' ? ['127.0.0.1', '::1'] : isIP(host) ? [host] : fromHosts(hosts, host);
  return addresses.map((a) => endpointKey(a, port));
}

/** The addresses a hosts file gives a name (every line that lists it). */
function fromHosts(hosts: string | undefined, name: string): string[] {
  const out: string[] = [];
  for (const line of (hosts ?? '').split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (address && isIP(address) && names.some((n) => n.toLowerCase() === name.toLowerCase())) out.push(address);
  }
  return out;
}

function targets(env: ReadonlyMap<string, string>, keys: string[], defaultPort: number, hosts: string | undefined): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    const v = env.get(k);
    if (v) for (const t of urlTargets(v, defaultPort, hosts)) out.add(t);
  }
  return [...out].sort();
}

/** Where an environment sends its spans; without a port, OTLP/HTTP's 4318. */
export function telemetryTargets(env: ReadonlyMap<string, string>, hosts?: string): string[] {
  return targets(env, OTLP_ENV_KEYS, 4318, hosts);
}

/** The gateway an environment calls other functions through. */
export function gatewayTargets(env: ReadonlyMap<string, string>, hosts?: string): string[] {
  return targets(env, GATEWAY_ENV_KEYS, 80, hosts);
}

/** The agent's own receiver (--otlp HOST:PORT) as endpointKey()s; none for port 0. */
export function receiverKeys(host: string, port: number): string[] {
  if (port === 0) return [];
  const h = host.replace(/^\[|\]$/g, '');
  return telemetryTargets(new Map([['OTEL_EXPORTER_OTLP_ENDPOINT', `http://${h.includes(':') ? `[${h}]` : h}:${port}`]]));
}
