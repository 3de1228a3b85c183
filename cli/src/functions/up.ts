/**
 * faasprov functions up: a faas-cli stack on this machine, each instance under the real of-watchdog
 * in a network namespace of its own, behind a gateway of ours. Runs until stop() (SIGINT/SIGTERM).
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { FunctionsErrors } from '../errors.js';
import { prepareStack } from './build.js';
import { cleanUp } from './down.js';
import { Gateway } from './gateway.js';
import { instanceEnv, OTLP_RELAY_PORT, SECRETS_MOUNT, startWatchdog, waitReady, WATCHDOG_PORT } from './instances.js';
import { bridgeName, claimSubnet, createInstanceNetwork, hostAddress, instanceAddress, MAX_INSTANCES, netnsName } from './network.js';
import { startRelay } from './relay.js';
import { loadStack, type Stack } from './stack.js';
import { alive, processStart, readState, removeState, stateFileFor, writeState, type FunctionsState } from './state.js';
import { findTool } from './tools.js';

const RESTARTS = 5;

export interface UpOptions {
  file: string;
  scale: number;
  gateway: string;
  otlp: string;
  build: boolean;
  watchdog?: string;
  faasCli?: string;
  readyTimeoutMs: number;
  graceMs: number;
  log: (line: string) => void;
}

export interface RunningStack {
  stack: Stack;
  stateFile: string;
  gatewayUrl: string;
  /** Where functions reach the gateway (gateway.openfaas:8080 resolves to it inside the namespaces). */
  internalGateway: string;
  functions: { name: string; instances: { address: string; pid: number; netns: string }[] }[];
  gatewayStats: Gateway['stats'];
  stop(): Promise<void>;
}

export function hostPort(v: string, err: () => Error): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) throw err();
  const port = Number(m[3]);
  if (port > 65535) throw err();
  return { host: (m[1] ?? m[2])!, port };
}

function isLocal(host: string): boolean {
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host) || host === '::1' || host === 'localhost';
}

export async function functionsUp(o: UpOptions): Promise<RunningStack> {
  const gw = hostPort(o.gateway, () => FunctionsErrors.FP_ERR_GATEWAY_ADDRESS(o.gateway));
  if (!isLocal(gw.host)) throw FunctionsErrors.FP_ERR_GATEWAY_ADDRESS(o.gateway);
  const otlp = hostPort(o.otlp, () => FunctionsErrors.FP_ERR_GATEWAY_ADDRESS(o.otlp));
  if (!Number.isInteger(o.scale) || o.scale < 1) throw FunctionsErrors.FP_ERR_STACK_INVALID(o.file, '--scale must be at least 1');
  const stack = loadStack(o.file);
  if (stack.functions.length * o.scale > MAX_INSTANCES) throw FunctionsErrors.FP_ERR_STACK_INVALID(stack.file, `at most ${MAX_INSTANCES} instances in all`);
  if (process.getuid?.() !== 0) throw FunctionsErrors.FP_ERR_FUNCTIONS_NETWORK('network namespaces need root');
  const watchdog = findTool('of-watchdog', o.watchdog);

  const stateFile = stateFileFor(stack.dir);
  const old = readState(stateFile);
  if (old && alive(old.pid, old.start)) throw FunctionsErrors.FP_ERR_FUNCTIONS_RUNNING(stateFile, String(old.pid));
  if (old) {
    o.log(`cleaning up after an earlier functions up that was killed (pid ${old.pid})`);
    await cleanUp(old, o.graceMs);
    removeState(stateFile);
  }

  const prepared = await prepareStack(stack, o);

  const state: FunctionsState = { version: 1, stack: stack.file, pid: process.pid, start: processStart(process.pid) ?? 0, instances: [] };
  writeState(stateFile, state);
  const servers: Server[] = [];
  let gateway: Gateway | undefined;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearTimeout(t);
    await gateway?.close();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await cleanUp(state, o.graceMs);
    removeState(stateFile);
  };
  // A watchdog that exits once the stack is up is restarted, as a pod's container is, up to
  // RESTARTS times a minute (200 ms, 400 ms... apart); then it is left down and said so.
  let up = false;
  const restarts = new Map<string, number[]>();
  const launch = (inst: FunctionsState['instances'][number], label: string, dir: string, env: Record<string, string>, secrets?: string) => {
    const started = startWatchdog(watchdog, inst.netns, dir, env, inst.log, (how) => {
      if (stopped || !up) return;
      const now = Date.now();
      const recent = (restarts.get(label) ?? []).filter((t) => now - t < 60000);
      if (recent.length >= RESTARTS) {
        o.log(`${label} exited (${how}) ${RESTARTS} times within a minute; left down (log: ${inst.log})`);
        return;
      }
      recent.push(now);
      restarts.set(label, recent);
      o.log(`${label} exited (${how}); restarting it (log: ${inst.log})`);
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) launch(inst, label, dir, env, secrets);
      }, 200 * 2 ** (recent.length - 1));
      timers.add(t);
    }, secrets);
    inst.pid = started.pid;
    inst.start = started.start;
    writeState(stateFile, state);
    return started;
  };
  try {
    const seed = createHash('sha256').update(stack.file).digest()[0]!;
    state.subnet = await claimSubnet(seed);
    state.bridge = bridgeName(state.subnet);
    writeState(stateFile, state);
    const host = hostAddress(state.subnet);
    const running: RunningStack['functions'] = [];
    const starts: Promise<void>[] = [];
    let k = 0;
    for (const { f, dir, pathFirst } of prepared) {
      const secrets = f.secrets.length > 0 ? functionSecrets(stack.dir, f.name, f.secrets) : undefined;
      const instances: RunningStack['functions'][number]['instances'] = [];
      for (let i = 0; i < o.scale; i++, k++) {
        const netns = netnsName(state.subnet, k);
        const address = instanceAddress(state.subnet, k);
        const log = join(stack.dir, '.faasprov', 'logs', `${f.name}-${i}.log`);
        const inst = { function: f.name, index: i, netns, address, log } as FunctionsState['instances'][number];
        state.instances.push(inst);
        writeState(stateFile, state);
        await createInstanceNetwork(state.subnet, k, `${f.name}-${i}`);
        const env = instanceEnv({ name: f.name, namespace: f.namespace, index: i, buildDir: dir, tmpDir: join(stack.dir, '.faasprov', 'tmp', `${f.name}-${i}`), pathFirst, stackEnv: f.environment, hostAddress: host });
        const started = launch(inst, `${f.name}-${i}`, dir, env, secrets);
        instances.push({ address, pid: started.pid, netns });
        starts.push(waitReady(`${f.name}-${i}`, started, env, log, o.readyTimeoutMs));
      }
      running.push({ name: f.name, instances });
    }
    await Promise.all(starts);
    const subnetPrefix = `${host.slice(0, host.lastIndexOf('.'))}.`;
    servers.push(await startRelay(host, OTLP_RELAY_PORT, otlp.host, otlp.port));
    gateway = new Gateway({
      functions: stack.functions.map((f) => ({ name: f.name, namespace: f.namespace, replicas: running.find((r) => r.name === f.name)!.instances.map((x) => `${x.address}:${WATCHDOG_PORT}`) })),
      log: o.log,
      callbackAllowed: (h) => h.startsWith('127.') || h === '::1' || h.startsWith(subnetPrefix),
      fromInstance: (a) => a.startsWith(subnetPrefix) && a !== host,
    });
    const outside = await gateway.listen(gw.host, gw.port);
    await gateway.listen(host, WATCHDOG_PORT);
    const gatewayUrl = `http://${outside.host.includes(':') ? `[${outside.host}]` : outside.host}:${outside.port}`;
    state.gateway = gatewayUrl;
    writeState(stateFile, state);
    up = true;
    return { stack, stateFile, gatewayUrl, internalGateway: `http://gateway.openfaas:${WATCHDOG_PORT}`, functions: running, gatewayStats: gateway.stats, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A folder of the function's own declared secrets (copies of `.secrets/NAME`, mode 0400), bound
 * at /var/openfaas/secrets in its instances; the mount point is created on the host, empty.
 */
function functionSecrets(stackDir: string, fn: string, names: string[]): string {
  const out = join(stackDir, '.faasprov', 'secrets', fn);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true, mode: 0o700 });
  for (const n of names) {
    copyFileSync(join(stackDir, '.secrets', n), join(out, n));
    chmodSync(join(out, n), 0o400);
  }
  mkdirSync(SECRETS_MOUNT, { recursive: true });
  return out;
}
