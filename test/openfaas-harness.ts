/** Runs faas-cli and `faasprov functions up` for the OpenFaaS tests: real binaries, a temp folder each. */
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { FAASPROV, ROOT } from './helpers.js';

export const TOOLS = join(ROOT, '.tools', 'bin');
export const FAAS_CLI = join(TOOLS, 'faas-cli');
export const OF_WATCHDOG = join(TOOLS, 'of-watchdog');

/** Builds the real of-watchdog and faas-cli when missing (make deps does this; offline, ~20 s each). */
export async function ensureOpenfaasTools(): Promise<void> {
  await execa(join(ROOT, 'scripts', 'ensure-openfaas.sh'), [], { timeout: 300000 });
}

/** Copies template folders (template/NAME) into dir, as faas-cli template pull would. */
export function addTemplates(dir: string, from: string, names: string[]): void {
  for (const n of names) cpSync(join(from, 'template', n), join(dir, 'template', n), { recursive: true });
}

export async function faasCli(dir: string, args: string[]) {
  // NO_COLOR is not honoured by faas-cli; never assert on its progress output.
  return execa(FAAS_CLI, args, { cwd: dir, reject: false, all: true, timeout: 120000 });
}

/**
 * A copy of the real of-watchdog under a name of the test's own, so an agent watching that comm
 * sees only this test's instances (other tests on the machine run of-watchdog too).
 */
export function ownWatchdog(dir: string, name: string): string {
  const p = join(dir, name);
  copyFileSync(OF_WATCHDOG, p);
  return p;
}

export interface UpInfo {
  gateway: string;
  state: string;
  functions: { name: string; instances: { address: string; pid: number; netns: string }[] }[];
}

export class Stack {
  proc: ResultPromise | undefined;
  info: UpInfo | undefined;
  stderr = '';
  constructor(readonly dir: string, readonly args: string[] = []) {}

  async up(timeoutMs = 240000): Promise<UpInfo> {
    const proc = execa(FAASPROV, ['functions', 'up', '-f', 'stack.yaml', '--gateway', '127.0.0.1:0', ...this.args], { cwd: this.dir, reject: false });
    this.proc = proc;
    proc.stderr?.on('data', (c: Buffer) => { this.stderr += c.toString(); });
    let out = '';
    this.info = await new Promise<UpInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`functions up did not become ready:\n${this.stderr}`)), timeoutMs);
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as UpInfo);
        }
      });
      void proc.then((r) => {
        clearTimeout(timer);
        reject(new Error(`functions up exited (${r.exitCode}):\n${this.stderr}`));
      });
    });
    return this.info;
  }

  url(path: string): string {
    return `${this.info!.gateway}${path}`;
  }

  async down(): Promise<string> {
    const r = await execa(FAASPROV, ['functions', 'down', '-f', 'stack.yaml', '--grace', '2'], { cwd: this.dir, reject: false, all: true });
    await this.proc;
    return String(r.all ?? '');
  }

  stateExists(): boolean {
    return existsSync(join(this.dir, '.faasprov', 'functions.json'));
  }

  log(fn: string, i = 0): string {
    const p = join(this.dir, '.faasprov', 'logs', `${fn}-${i}.log`);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }
}

export interface FunctionSpec {
  name: string;
  lang: 'node24-faasprov' | 'python3-http-faasprov' | string;
  /** A handler file from test/fixtures/openfaas/handlers, copied over the template's. */
  handler: string;
  environment?: Record<string, string>;
}

/** Writes a stack with faas-cli new (one function at a time, --append), then our handlers over the generated ones. */
export async function newStack(dir: string, fns: FunctionSpec[], handlers: string): Promise<void> {
  for (const [i, f] of fns.entries()) {
    const r = await faasCli(dir, ['new', '--lang', f.lang, f.name, ...(i > 0 ? ['--append', 'stack.yaml'] : [])]);
    if (r.exitCode !== 0) throw new Error(`faas-cli new ${f.name}: ${String(r.all)}`);
    const target = f.handler.endsWith('.py') ? 'handler.py' : 'handler.js';
    copyFileSync(join(handlers, f.handler), join(dir, f.name, target));
  }
  const { parse, stringify } = await import('yaml');
  const stack = parse(readFileSync(join(dir, 'stack.yaml'), 'utf8')) as { version: unknown; functions: Record<string, Record<string, unknown>> };
  // faas-cli wants the version as written ("1.0"); a YAML round trip would make it the number 1.
  stack.version = '1.0';
  for (const f of fns) if (f.environment) stack.functions[f.name]!.environment = f.environment;
  writeFileSync(join(dir, 'stack.yaml'), stringify(stack));
}
