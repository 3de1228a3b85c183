import { copyFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readSqliteStore } from '@faasprov/store';
import { execa, type ResultPromise } from 'execa';
import { FAASPROV } from './helpers.js';

export const TOKEN = 'node-test-token-0123456789abcdef';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A stand-in watchdog: a copy of dash under a name of the test's own, so comm tells our trees apart. */
export function fakeWatchdog(dir: string, name: string): string {
  const bin = join(dir, name);
  copyFileSync('/bin/dash', bin);
  return bin;
}

export class Collector {
  proc: ResultPromise | undefined;
  constructor(readonly store: string, readonly port: number, readonly extra: string[] = []) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.proc = execa(FAASPROV, ['up', '--store', this.store, '--port', String(this.port), '--agent-token', `node-test=${TOKEN}`, ...this.extra], { reject: false });
    await until('the collector', () => fetch(`${this.url}/healthz`).then((r) => r.ok, () => false), 30000);
  }
  async stop(): Promise<void> {
    this.proc?.kill('SIGTERM');
    await this.proc;
  }
}

export class Agent {
  proc: ResultPromise | undefined;
  readonly metricsPort: number;
  constructor(readonly collectorUrl: string, readonly spool: string, readonly watch: string, metricsPort: number, readonly extra: string[] = []) {
    this.metricsPort = metricsPort;
  }
  async start(): Promise<void> {
    this.proc = execa(
      FAASPROV,
      ['agent', '--collector', this.collectorUrl, '--node', 'node-test', '--watch-comm', this.watch, '--spool', this.spool,
        '--token', TOKEN, '--metrics', `127.0.0.1:${this.metricsPort}`, '--counter-flush', '2',
        // Agents of concurrent test runs would contend for the OTLP default port: only tests that want it get one.
        ...(this.extra.includes('--otlp') ? [] : ['--otlp', 'off']), ...this.extra],
      { reject: false, all: true },
    );
    await until('the agent', async () => (await this.metric('faasprov_agent_events_seen_total', 'kind="ready"')) >= 1, 90000);
  }
  async metricsText(): Promise<string> {
    return fetch(`http://127.0.0.1:${this.metricsPort}/metrics`).then((r) => r.text(), () => '');
  }
  async metric(name: string, label?: string): Promise<number> {
    const text = await this.metricsText();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name) || (label && !line.includes(label))) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== ' ' && rest[0] !== '{') continue;
      sum += Number(line.split(' ').at(-1));
    }
    return sum;
  }
  async stop(): Promise<string> {
    this.proc?.kill('SIGTERM');
    const r = await this.proc;
    return String(r?.all ?? '');
  }
  async kill9(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.proc;
  }
}

export interface StoredFile {
  path: string;
  writes: number;
  /** When the file's first recorded operation happened (µs). */
  firstTime: number;
}

/** Reads the store directly (WAL lets readers in beside the collector). */
export function readStore(file: string) {
  const g = readSqliteStore(file);
  const edges = g.edges.map((e) => ({ id: e.id, type: e.type, src: e.from, dst: e.to, count: e.count, bytes: e.bytes, first_time: e.firstTime, attrs: (e.attrs ?? {}) as Record<string, unknown> }));
  const parsed = g.nodes as unknown as { id: string; type: string; [k: string]: unknown }[];
  const files = parsed.filter((n) => n.type === 'File') as unknown as { id: string; path: string; version: number }[];
  // An open for writing is an operation of the edge too (attrs.openFlags; the workloads open each file once): not a write.
  const writesOf = (id: string) =>
    edges.filter((e) => e.type === 'WAS_GENERATED_BY' && e.src === id).reduce((a, e) => a + e.count - (e.attrs.openFlags !== undefined ? 1 : 0), 0);
  const firstTimeOf = (id: string) => Math.min(...edges.filter((e) => e.src === id || e.dst === id).map((e) => e.first_time));
  return {
    nodes: parsed,
    edges,
    batches: g.batches,
    gaps: parsed.filter((n) => n.type === 'Gap') as unknown as { id: string; cause: string; count: number; from: number; to: number; detail?: string }[],
    filesUnder: (dir: string): StoredFile[] => files.filter((f) => f.path.startsWith(dir)).map((f) => ({ path: f.path, writes: writesOf(f.id), firstTime: firstTimeOf(f.id) })),
  };
}

export function spoolLines(dir: string, files: string[]): string[] {
  return files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}
