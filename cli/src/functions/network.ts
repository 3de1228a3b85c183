/**
 * One network namespace per instance, as a pod has: a veth pair into a bridge of the stack's own on a
 * private 10.213.X.0/24 that nothing else routes. No default route, no NAT: an instance reaches the
 * bridge's address (the gateway and the agent's OTLP relay) and the other instances, nothing else.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { FunctionsErrors } from '../errors.js';

const PREFIX = '10.213';

export const bridgeName = (subnet: number) => `fpbr${subnet}`;
export const hostAddress = (subnet: number) => `${PREFIX}.${subnet}.1`;
export const instanceAddress = (subnet: number, k: number) => `${PREFIX}.${subnet}.${k + 2}`;
export const netnsName = (subnet: number, k: number) => `fp${subnet}-${k}`;
const vethName = (subnet: number, k: number) => `fpv${subnet}-${k}`;
const peerName = (subnet: number, k: number) => `fpp${subnet}-${k}`;
export const MAX_INSTANCES = 250;

async function ip(args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false, all: true });
  if (r.exitCode !== 0) throw FunctionsErrors.FP_ERR_FUNCTIONS_NETWORK(`ip ${args.join(' ')}: ${String(r.all ?? '').trim()}`);
}

/** Claims a free 10.213.X.0/24 by creating its bridge (creation is the lock: a name that exists is taken). */
export async function claimSubnet(seed: number): Promise<number> {
  const used = (await execa('ip', ['-o', '-4', 'addr', 'show'], { reject: false })).stdout;
  for (let i = 0; i < 256; i++) {
    const x = (seed + i) % 256;
    if (used.includes(` ${PREFIX}.${x}.`)) continue;
    const br = bridgeName(x);
    const r = await execa('ip', ['link', 'add', br, 'type', 'bridge'], { reject: false, all: true });
    if (r.exitCode !== 0) {
      if (/exists/i.test(String(r.all))) continue;
      throw FunctionsErrors.FP_ERR_FUNCTIONS_NETWORK(`ip link add ${br} type bridge: ${String(r.all ?? '').trim()} (needs root)`);
    }
    await ip(['addr', 'add', `${hostAddress(x)}/24`, 'dev', br]);
    await ip(['link', 'set', br, 'up']);
    return x;
  }
  throw FunctionsErrors.FP_ERR_FUNCTIONS_NETWORK(`no free subnet in ${PREFIX}.0.0/16`);
}

/** /etc/netns/NS/hosts is bind-mounted over /etc/hosts by ip netns exec: the cluster names resolve. */
function hostsFile(subnet: number, k: number, name: string): string {
  const gw = hostAddress(subnet);
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${instanceAddress(subnet, k)}\t${name}`,
    `${gw}\tgateway.openfaas gateway.openfaas.svc gateway.openfaas.svc.cluster.local`,
    '',
  ].join('\n');
}

export async function createInstanceNetwork(subnet: number, k: number, hostname: string): Promise<void> {
  const ns = netnsName(subnet, k);
  await ip(['netns', 'add', ns]);
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/hosts`, hostsFile(subnet, k, hostname));
  await ip(['link', 'add', vethName(subnet, k), 'type', 'veth', 'peer', 'name', peerName(subnet, k)]);
  await ip(['link', 'set', peerName(subnet, k), 'netns', ns]);
  await ip(['-n', ns, 'link', 'set', peerName(subnet, k), 'name', 'eth0']);
  await ip(['-n', ns, 'addr', 'add', `${instanceAddress(subnet, k)}/24`, 'dev', 'eth0']);
  await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  await ip(['link', 'set', vethName(subnet, k), 'master', bridgeName(subnet)]);
  await ip(['link', 'set', vethName(subnet, k), 'up']);
}

/** Removes what createInstanceNetwork made; what is already gone is fine. */
export async function removeInstanceNetwork(ns: string): Promise<void> {
  const veth = ns.replace(/^fp/, 'fpv');
  await execa('ip', ['link', 'del', veth], { reject: false });
  await execa('ip', ['netns', 'del', ns], { reject: false });
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

export async function removeBridge(bridge: string): Promise<void> {
  await execa('ip', ['link', 'del', bridge], { reject: false });
}
