/**
 * The shop on the faasprov templates as a `faasprov functions up` stack: what invocation-latency
 * and scripts/template-lab.mjs deploy and load, in one place so the two measure the same thing.
 */
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const TEMPLATES = join(ROOT, 'openfaas-templates/template');
const LANGS = ['node24-faasprov', 'python3-http-faasprov'] as const;

/** One python3-http-faasprov function per kind beside the shop: a string, 30 small files read and one written, sha256 over 2 MB. */
export const KINDS = ['trivial', 'files', 'cpu'] as const;
export type Kind = (typeof KINDS)[number];

type FunctionSource = readonly [name: string, lang: (typeof LANGS)[number], src: string, target: string];
/** checkout (node) calls catalog and payment (python) through the gateway. */
const SHOP: readonly FunctionSource[] = [
  ['checkout', 'node24-faasprov', 'bench/fixtures/shop/checkout.js', 'handler.js'],
  ['catalog', 'python3-http-faasprov', 'bench/fixtures/shop/catalog.py', 'handler.py'],
  ['payment', 'python3-http-faasprov', 'bench/fixtures/shop/payment.py', 'handler.py'],
];
/** The shop, then the kinds. */
const FUNCTIONS: readonly FunctionSource[] = [...SHOP, ...KINDS.map((k) => [k, 'python3-http-faasprov', `bench/fixtures/kinds/${k}.py`, 'handler.py'] as const)];

export interface ShopOptions {
  /** A folder holding node24-faasprov/ and python3-http-faasprov/ (default: the project's templates). */
  templates?: string;
  /** false: every function with FAASPROV_SHIM=off (the plain template). */
  shim: boolean;
  /** Set in every function's environment. */
  env?: Record<string, string>;
  /** Add `hello`, the Node template's own handler (it echoes the body): the trivial Node function. */
  hello?: boolean;
  /** false: the shop's three functions only, without the kinds (default true). */
  kinds?: boolean;
}

/** The files the shop's functions read and write, under data (SHOP_DATA). */
export function writeShopData(data: string): void {
  mkdirSync(join(data, 'orders'), { recursive: true });
  mkdirSync(join(data, 'kinds'), { recursive: true });
  writeFileSync(join(data, 'catalog.json'), JSON.stringify({ mug: 12.5, shirt: 20, cap: 9.99 }));
  writeFileSync(join(data, 'merchant.key'), 'k'.repeat(32));
  for (let f = 0; f < 30; f++) writeFileSync(join(data, 'kinds', `in-${f}.txt`), `${f}:${'x'.repeat(200)}\n`);
}

/** The shop as a faas-cli stack (stack.yaml, the templates and handlers) in dir, its data in data. */
export function writeShop(dir: string, data: string, opts: ShopOptions): void {
  const templates = opts.templates ?? TEMPLATES;
  for (const t of LANGS) cpSync(join(templates, t), join(dir, 'template', t), { recursive: true });
  const env = { SHOP_DATA: data, ...(opts.shim ? {} : { FAASPROV_SHIM: 'off' }), ...opts.env };
  const lines = ['version: 1.0', 'provider:', '  name: openfaas', '  gateway: http://127.0.0.1:8080', 'functions:'];
  const add = (name: string, lang: string, vars: Record<string, string>) => {
    lines.push(`  ${name}:`, `    lang: ${lang}`, `    handler: ./${name}`, `    image: ${name}:latest`);
    if (Object.keys(vars).length > 0) lines.push('    environment:', ...Object.entries(vars).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`));
  };
  for (const [name, lang, src, target] of opts.kinds === false ? SHOP : FUNCTIONS) {
    cpSync(join(dir, 'template', lang, 'function'), join(dir, name), { recursive: true });
    copyFileSync(join(ROOT, src), join(dir, name, target));
    add(name, lang, env);
  }
  if (opts.hello) {
    cpSync(join(dir, 'template', 'node24-faasprov', 'function'), join(dir, 'hello'), { recursive: true });
    add('hello', 'node24-faasprov', opts.env ?? {});
  }
  writeFileSync(join(dir, 'stack.yaml'), `${lines.join('\n')}\n`);
}

export interface RunningShop {
  proc: ChildProcess;
  gateway: string;
  /** Each function's watchdog pid, as functions up says them on stderr (filled in as they start). */
  pids: Record<string, number>;
}

/** `faasprov functions up` for the stack in dir; resolves once every instance listens. */
export function upShop(dir: string, opts: { watchdog: string; otlp: string }): Promise<RunningShop> {
  const proc = spawn(FAASPROV, ['functions', 'up', '-f', 'stack.yaml', '--gateway', '127.0.0.1:0', '--watchdog', opts.watchdog, '--otlp', opts.otlp], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const pids: Record<string, number> = {};
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
    for (const m of b.toString().matchAll(/faasprov: ([\w-]+): [\d.:]+ \(pid (\d+)\)/g)) pids[m[1]!] = Number(m[2]);
  });
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) res({ proc, gateway: (JSON.parse(line) as { gateway: string }).gateway, pids });
    });
    proc.once('exit', (code) => rej(new Error(`functions up in ${dir} exited with ${code}:\n${err}`)));
  });
}

/**
 * n rounds of one call of fn (the checkout by default) on every gateway; latencies in ms, one array
 * per gateway in the order given. The order turns each round (A B, B A, ...): in a fixed order,
 * identical deployments differed by up to 6% by position alone (four stacks side by side, 2026-12-01).
 * everyMs: a round starts every everyMs ms (a fixed rate; 0: as fast as they complete).
 */
export async function loadShop(n: number, gateways: string[], fn = 'checkout', everyMs = 0): Promise<number[][]> {
  const out = gateways.map((): number[] => []);
  const items = ['mug', 'shirt', 'cap'];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const wait = everyMs > 0 ? start + i * everyMs - performance.now() : 0;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < gateways.length; k++) {
      const j = (k + i) % gateways.length;
      const t0 = performance.now();
      const r = await fetch(`${gateways[j]}/function/${fn}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: items[i % 3], qty: 1 + (i % 2) }) });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${fn} at ${gateways[j]} answered ${r.status}: ${body.slice(0, 200)}`);
      out[j]!.push(performance.now() - t0);
    }
  }
  return out;
}
