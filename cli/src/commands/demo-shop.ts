/**
 * What the scripted attacks b, c and e share: the running shop (gateway, the host's side of its
 * bridge, folders), calls through its gateway with a call id of ours, and the attacker's servers
 * (an instance reaches nothing but its bridge, so the attacker listens on the host's address there).
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createTcp, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FunctionsErrors } from '../errors.js';
import { hostAddress } from '../functions/network.js';
import { alive, readState, stateFileFor } from '../functions/state.js';
import type { ShopTruth } from './demo-truth.js';

export interface Shop {
  stackDir: string;
  gateway: string;
  /** This host's address on the stack's bridge: the only one an instance reaches. */
  host: string;
  /** The catalog's product files (the shop's F3 durable volume). */
  catalogDir: string;
  /** authorize-cc's plugin folder: where its flaw downloads "card-network plugins". */
  pluginsDir: string;
  tag: string;
}

export function runningShop(stackFile: string): Shop {
  const stack = resolve(stackFile);
  const state = readState(stateFileFor(dirname(stack)));
  if (!state || state.subnet === undefined || !state.gateway || !alive(state.pid, state.start)) throw FunctionsErrors.FP_ERR_DEMO_NOT_UP(stack);
  const stackDir = dirname(stack);
  return {
    stackDir, gateway: state.gateway, host: hostAddress(state.subnet), catalogDir: join(stackDir, 'data', 'catalog'),
    pluginsDir: join(stackDir, 'build', 'authorize-cc', 'function', 'plugins'), tag: randomUUID().slice(0, 8),
  };
}

/** One call through the gateway with our call id; the answer's body, and the call id the gateway used. */
export async function shopCall(attack: string, gateway: string, fn: string, body: unknown, callId: string, method = 'POST'): Promise<{ callId: string; body: string }> {
  const r = await fetch(`${gateway}/function/${fn}`, {
    method, headers: { 'content-type': 'application/json', 'x-call-id': callId }, ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (!r.ok) throw FunctionsErrors.FP_ERR_DEMO_ATTACK(attack, `${fn} answered ${r.status}: ${text.slice(0, 200)}`);
  return { callId: r.headers.get('x-call-id') ?? callId, body: text };
}

/** The attacker's web server: serves the named files and keeps what is posted to it. */
export async function attackerWeb(host: string, files: (port: number) => Record<string, string>): Promise<{ server: Server; port: number; posted: string[]; close: () => Promise<void> }> {
  const posted: string[] = [];
  const server = createHttp((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      if (req.method === 'POST') posted.push(body);
      const { port } = server.address() as AddressInfo;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(files(port)[req.url ?? ''] ?? 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as AddressInfo).port, posted, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The attacker's listener for a reverse shell: on connection it sends the commands, then keeps what
 * comes back until the shell closes the connection.
 */
export async function attackerListener(host: string, commands: string): Promise<{ port: number; received: () => string; done: Promise<void>; close: () => Promise<void> }> {
  let out = '';
  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcp((s) => {
    sockets.add(s);
    s.on('data', (c: Buffer) => { out += c.toString(); });
    s.on('close', () => { sockets.delete(s); finished(); });
    s.on('error', () => undefined);
    s.write(commands);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as AddressInfo).port, received: () => out, done,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** Benign shop traffic; busy: the functions an attack is using now, which it keeps off. */
export type BenignTraffic = (gateway: string, busy: string[]) => Promise<ShopTruth['benign']>;

/**
 * Removes a planted plugin, and the plugins folder when nothing else is in it: a folder the attack
 * made and left would be read by every later invocation (data from the attack, rightly flagged).
 */
export function removePlugin(file: string): void {
  rmSync(file, { force: true });
  try {
    if (readdirSync(dirname(file)).length === 0) rmdirSync(dirname(file));
  } catch {
    // already gone
  }
}
