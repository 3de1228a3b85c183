/** One function instance: the real of-watchdog, in its network namespace, run as its container would. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FunctionsErrors } from '../errors.js';
import { parseDockerfile } from './dockerfile.js';
import { alive, processStart } from './state.js';

export const WATCHDOG_PORT = 8080;
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface InstanceEnvInput {
  name: string;
  namespace: string;
  index: number;
  buildDir: string;
  tmpDir: string;
  pathFirst: string[];
  stackEnv: Record<string, string>;
  hostAddress: string;
}

/**
 * The watchdog's environment, weakest first: container defaults, the Dockerfile's ENV (paths under
 * its WORKDIR mapped to the build folder), the stack's environment, then what faasprov needs.
 */
export function instanceEnv(i: InstanceEnvInput): Record<string, string> {
  const path = [...i.pathFirst, dirname(process.execPath), BASE_PATH].join(':');
  const file = join(i.buildDir, 'Dockerfile');
  if (!existsSync(file)) throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(i.name, `${file} is missing (is ${i.buildDir} a faas-cli build --shrinkwrap folder?)`);
  let docker;
  try {
    docker = parseDockerfile(readFileSync(file, 'utf8'), { PATH: path });
  } catch (err) {
    throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(i.name, `${file}: ${(err as Error).message}`);
  }
  const workdir = docker.workdir?.replace(/\/+$/, '');
  const mapped: Record<string, string> = {};
  for (const [k, v] of Object.entries(docker.env)) {
    mapped[k] = workdir && workdir !== '' ? v.split(workdir + '/').join(i.buildDir + '/').replace(new RegExp(`(^|:)${workdir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|:)`, 'g'), `$1${i.buildDir}`) : v;
  }
  if (mapped.PATH !== undefined && !mapped.PATH.startsWith(i.pathFirst[0] ?? '\0')) mapped.PATH = [...i.pathFirst, mapped.PATH].join(':');
  const env: Record<string, string> = {
    PATH: path,
    HOME: i.buildDir,
    HOSTNAME: `${i.name}-${i.index}`,
    // Each container has its own /tmp; of-watchdog keeps its lock file there (os.TempDir()).
    TMPDIR: i.tmpDir,
    // A pod needs time for endpoints to drop it; our gateway stops routing to it first.
    healthcheck_interval: '1s',
    ...mapped,
    ...i.stackEnv,
    FAASPROV_FUNCTION: i.name,
    FAASPROV_NAMESPACE: i.namespace,
  };
  env.OTEL_SERVICE_NAME ??= i.name;
  // The node's agent is on the node's loopback, which a namespace cannot reach: an endpoint on
  // loopback (or none) goes to the stack's bridge address, where a relay forwards to the agent.
  env.OTEL_EXPORTER_OTLP_ENDPOINT = otlpEndpoint(env.OTEL_EXPORTER_OTLP_ENDPOINT, i.hostAddress);
  env.gateway_url ??= `http://gateway.openfaas:${WATCHDOG_PORT}`;
  if (!env.fprocess && !env.function_process) throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(i.name, `${file} sets no fprocess (ENV fprocess=...)`);
  if (env.port && env.port !== String(WATCHDOG_PORT)) throw FunctionsErrors.FP_ERR_FUNCTION_BUILD(i.name, `the watchdog must listen on ${WATCHDOG_PORT} (port=${env.port})`);
  return env;
}

export const OTLP_RELAY_PORT = 4318;

function otlpEndpoint(given: string | undefined, hostAddress: string): string {
  const relay = `http://${hostAddress}:${OTLP_RELAY_PORT}`;
  if (!given) return relay;
  try {
    const u = new URL(given);
    return /^(127\.|localhost$|\[::1\]$)/.test(u.hostname) ? relay : given;
  } catch {
    return given;
  }
}

export interface StartedInstance {
  pid: number;
  start: number;
}

/**
 * Starts the watchdog through `ip netns exec` (which execs in place: the pid is the watchdog's), in
 * a process group of its own. onExit runs once it has exited and what was left of its group is killed.
 */
export const SECRETS_MOUNT = '/var/openfaas/secrets';

export function startWatchdog(watchdog: string, netns: string, cwd: string, env: Record<string, string>, log: string, onExit?: (how: string) => void, secrets?: string): StartedInstance {
  mkdirSync(dirname(log), { recursive: true });
  mkdirSync(env.TMPDIR!, { recursive: true });
  const fd = openSync(log, 'a');
  try {
    // ip netns exec runs in a mount namespace of its own: a read-only bind of the function's
    // secrets there is seen by this instance only; sh then execs the watchdog in place.
    const args = secrets === undefined
      ? ['netns', 'exec', netns, watchdog]
      : ['netns', 'exec', netns, '/bin/sh', '-c', 'mount --bind -o ro "$1" "$2" && exec "$3"', 'sh', secrets, SECRETS_MOUNT, watchdog];
    const child = spawn('ip', args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw FunctionsErrors.FP_ERR_INSTANCE_START(netns, 'ip netns exec could not be started');
    child.once('exit', (code, signal) => {
      // The function's process outlives a killed watchdog and would hold its port.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      onExit?.(signal ?? `exit ${code}`);
    });
    return { pid, start: processStart(pid) ?? 0 };
  } finally {
    closeSync(fd);
  }
}

/** Ports in LISTEN state in the network namespace of pid (its own /proc view of tcp and tcp6). */
export function listeningPorts(pid: number): Set<number> {
  const ports = new Set<number>();
  for (const f of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/**
 * Ready when the watchdog and its upstream (the function's server) both listen, read from the
 * namespace's socket table: readiness costs no request, so no invocation is made to check it.
 */
export async function waitReady(name: string, inst: StartedInstance, env: Record<string, string>, log: string, timeoutMs: number): Promise<void> {
  const upstream = env.upstream_url ? Number(new URL(env.upstream_url).port || 80) : undefined;
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive(inst.pid, inst.start)) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
      throw FunctionsErrors.FP_ERR_INSTANCE_START(name, `the watchdog exited; its log (${log}):\n${tail}`);
    }
    const ports = listeningPorts(inst.pid);
    if (ports.has(WATCHDOG_PORT) && (upstream === undefined || ports.has(upstream))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw FunctionsErrors.FP_ERR_INSTANCE_START(name, `nothing listened on ${WATCHDOG_PORT}${upstream ? ` and ${upstream}` : ''} within ${timeoutMs / 1000} s (log: ${log})`);
}

/** SIGTERM to the instance's process group, SIGKILL after graceMs; a recycled pid is never signalled. */
export async function stopInstance(pid: number | undefined, start: number | undefined, graceMs: number): Promise<void> {
  if (!alive(pid, start)) return;
  const group = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(-pid!, sig);
      return true;
    } catch {
      return false;
    }
  };
  group('SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!group(0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  group('SIGKILL');
  const hard = Date.now() + 5000;
  while (Date.now() < hard && group(0)) await new Promise((r) => setTimeout(r, 50));
}
