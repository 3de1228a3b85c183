import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { AlertNode, SerializedGraph } from '@faasprov/model';
import { COVERAGE_ACTIONS, Check, type CoverageRun } from './actions.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FAASPROV = join(ROOT, 'cli/bin/faasprov');
const PY = join(ROOT, '.tools/pyvenv/bin/python');
const ACTIONS = join(ROOT, 'bench/fixtures/coverage_actions.py');

/** Listens on a loopback port (chosen by the OS) or a unix path; each client gets `send`, then the end. */
function serve(at: number | string, send: Buffer): Promise<{ server: Server; port: number }> {
  return new Promise((done) => {
    // A client that reads only part (tcp-connect) resets the connection: that is no failure here.
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(send);
    });
    server.on('error', () => undefined);
    const ready = () => done({ server, port: typeof at === 'number' ? (server.address() as { port: number }).port : 0 });
    if (typeof at === 'number') server.listen(at, '127.0.0.1', ready);
    else server.listen(at, ready);
  });
}

function cli(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const c = spawn(FAASPROV, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let [stdout, stderr] = ['', ''];
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

export interface CoverageResult extends CoverageRun {
  store: string;
  /** faasprov run's exit code and summary line. */
  code: number;
  stderr: string;
}

/**
 * Runs every action of the table (bench/fixtures/coverage_actions.py) under one `faasprov run`
 * (one bpftrace attach for all, each action in a process of its own) with the shipped rules, and
 * reads back the graph, the alerts and which process ran which action. dir: an empty directory.
 */
export async function runCoverage(dir: string): Promise<CoverageResult> {
  const work = join(dir, 'w');
  mkdirSync(work);
  writeFileSync(join(work, 'input.txt'), 'hello world');
  writeFileSync(join(work, 'input2.txt'), 'to be truncated');
  writeFileSync(join(work, 'input3.txt'), 'to be truncated too');
  writeFileSync(join(work, 'victim.log'), 'evidence\n');
  // The peer sends a program's bytes: the fileless action runs what it receives.
  const tcp = await serve(0, readFileSync('/usr/bin/true'));
  const unixSocket = join(work, 'ctl.sock');
  const unix = await serve(unixSocket, Buffer.from('ok'));
  try {
    const store = join(dir, 's.db');
    const manifest = join(dir, 'manifest.json');
    const out = join(dir, 'g.json');
    const r = await cli(['run', '--store', store, '--format', 'json', '--out', out, '--', PY, ACTIONS, work, String(tcp.port), unixSocket, manifest], 240000);
    const a = await cli(['alerts', '--store', store, '--json', '--limit', '500'], 60000);
    if (a.code !== 0) throw new Error(`faasprov alerts failed: ${a.stderr}`);
    return {
      store,
      code: r.code,
      stderr: r.stderr,
      graph: JSON.parse(readFileSync(out, 'utf8')) as SerializedGraph,
      alerts: (JSON.parse(a.stdout) as { alerts: AlertNode[] }).alerts,
      manifest: JSON.parse(readFileSync(manifest, 'utf8')) as CoverageRun['manifest'],
      dir: work,
      port: tcp.port,
      unixSocket,
    };
  } finally {
    tcp.server.close();
    unix.server.close();
  }
}

/** Which actions left their artifact (and raised their alert): the coverage figure. */
export function scoreCoverage(run: CoverageRun): { captured: string[]; missed: { id: string; why: string }[]; alerted: number; alertsExpected: number } {
  const captured: string[] = [];
  const missed: { id: string; why: string }[] = [];
  let alerted = 0;
  let alertsExpected = 0;
  for (const a of COVERAGE_ACTIONS) {
    const c = new Check(run, a.id);
    const why = run.manifest[a.id]?.code !== 0 ? `the action failed (exit ${run.manifest[a.id]?.code})` : a.check(c);
    if (why === undefined) captured.push(a.id);
    else missed.push({ id: a.id, why });
    if (a.alert) {
      alertsExpected++;
      if (c.alerted(a.alert)) alerted++;
    }
  }
  return { captured, missed, alerted, alertsExpected };
}
