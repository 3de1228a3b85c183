import { gatewayTargets, telemetryTargets } from './platform-endpoints.js';

/** Environment keys that name the function a watchdog serves, first match wins. */
export const FUNCTION_ENV_KEYS = ['FAASPROV_FUNCTION', 'OPENFAAS_NAME', 'FUNCTION_NAME'];
/** Environment keys that name the tenant (OpenFaaS namespace) of a watchdog, first match wins. */
export const NAMESPACE_ENV_KEYS = ['FAASPROV_NAMESPACE', 'OPENFAAS_NAMESPACE', 'POD_NAMESPACE'];
const TENANT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What an instance's environment says of it: its function, tenant and the platform's endpoints. */
export interface EnvFacts {
  function?: string;
  namespace?: string;
  telemetry?: string[];
  gateway?: string[];
}

/** NAME=value entries (NUL-separated, as /proc/PID/environ and the exec's stack hold them) as a map. */
export function envVars(entries: readonly string[]): Map<string, string> {
  const vars = new Map<string, string>();
  for (const kv of entries) {
    const eq = kv.indexOf('=');
    if (eq > 0 && !vars.has(kv.slice(0, eq))) vars.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return vars;
}

/**
 * The instance facts an environment holds. hosts: the instance's own hosts file, through which
 * names resolve as the instance resolves them (without it only addresses and localhost do).
 */
export function envFacts(vars: ReadonlyMap<string, string>, hosts?: string): EnvFacts {
  const facts: EnvFacts = {};
  for (const k of FUNCTION_ENV_KEYS) {
    const v = vars.get(k);
    if (v) {
      facts.function = v.slice(0, 253);
      break;
    }
  }
  for (const k of NAMESPACE_ENV_KEYS) {
    const v = vars.get(k);
    if (v && v.length <= 63 && TENANT.test(v)) {
      facts.namespace = v;
      break;
    }
  }
  const telemetry = telemetryTargets(vars, hosts);
  if (telemetry.length > 0) facts.telemetry = telemetry;
  const gateway = gatewayTargets(vars, hosts);
  if (gateway.length > 0) facts.gateway = gateway;
  return facts;
}
