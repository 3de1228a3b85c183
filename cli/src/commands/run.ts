import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AgentTokens, ApiKeys, captureNeeds } from '@faasprov/collector';
import { NODE_NAME_PATTERN } from '@faasprov/model';
import { rulesOf } from './up.js';
import {
  AgentErrors, Capture, HttpBatchExporter, VolumeTable, gpuLibrary, parseGpuServer, parseOtlpAddress, preflight, which,
} from '@faasprov/agent';
import { hostname } from 'node:os';
import { buildServer, printable } from '@faasprov/graph-service';
import { emitRendered, render, type CliFormat } from '../render.js';
import { traceHints } from '../trace-hints.js';
import { describeStore } from '@faasprov/store';
import { fail, openStore } from '../output.js';

export interface RunOptions {
  store: string;
  format: CliFormat;
  out?: string;
  bpftrace?: string;
  perfPages?: number;
  sensorPace?: number;
  node?: string;
  quiet?: boolean;
  record?: string;
  volume?: string[];
  volumeFstype?: string[];
  gpuLib?: string[];
  gpuServer?: string[];
  otlp?: string;
  /** A rules file, 'default', or false for --no-rules. */
  rules?: string | false;
}

// The launcher waits on fd 3 until capture is attached, then becomes CMD (same pid), so the
// first event of the tracked tree is CMD's own exec. EOF on fd 3 (faasprov died) aborts.
const LAUNCH = 'IFS= read -r _ <&3 || exit 125; exec 3<&-; exec "$@"';
const MARK = 'faasprov-launch';

function stdioTargets(): Map<number, string> {
  const m = new Map<number, string>();
  for (const fd of [0, 1, 2]) {
    try {
      const t = readlinkSync(`/proc/self/fd/${fd}`);
      if (t.startsWith('/')) m.set(fd, t);
    } catch {
      /* not open */
    }
  }
  return m;
}

async function waitLaunched(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(MARK)) return;
    } catch {
      return; // gone already: its exit shows up below
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** CMD's exit status as a shell reports it: its code, or 128 + the signal that killed it. */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + ((signal && (constants.signals as Record<string, number>)[signal]) || 1));
    });
  });
}

/** faasprov run: capture CMD's process tree end to end and print its provenance graph. */
export async function runCommand(argv: string[], o: RunOptions): Promise<number> {
  const [cmd, ...args] = argv;
  if (!cmd) fail(new Error('nothing to run: usage: faasprov run [options] -- CMD [ARGS...]'));
  const resolved = which(cmd);
  if (!resolved) fail(new Error(`command not found: ${cmd}`), 127);

  let bpftrace: string;
  let volumes: VolumeTable;
  let gpu;
  let gpuServers;
  let otlp;
  try {
    otlp = parseOtlpAddress(o.otlp ?? 'off');
    ({ bpftrace } = await preflight({ bpftrace: o.bpftrace }));
    volumes = VolumeTable.fromSpecs(o.volume ?? [], o.volumeFstype ?? [], o.node ?? hostname());
    gpu = (o.gpuLib ?? []).map(gpuLibrary);
    gpuServers = new Set((o.gpuServer ?? []).map(parseGpuServer));
  } catch (err) {
    fail(err);
  }

  const node = o.node ?? hostname();
  if (!NODE_NAME_PATTERN.test(node)) fail(AgentErrors.FP_ERR_BAD_NODE(node));
  const rules = rulesOf(o.rules ?? 'default');
  const store = await openStore(o.store);
  // The in-process collector admits only this capture's agent (ids NODE:run-…), by a token made for this run.
  const token = randomBytes(24).toString('hex');
  const app = await buildServer({ store, collector: true, keys: new ApiKeys([], AgentTokens.parse([`${node}=${token}`])), rules });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const child = spawn('/bin/sh', ['-c', LAUNCH, MARK, cmd, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
  });
  const exited = exitOf(child);
  const gate = child.stdio[3] as NodeJS.WritableStream;
  gate.on('error', () => undefined);
  // Signals meant for CMD (Ctrl-C) reach it directly; faasprov stays to flush the capture.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);

  const capture = new Capture({
    rootPid: child.pid!,
    rootCwd: process.cwd(),
    rootFds: stdioTargets(),
    exporter: new HttpBatchExporter({ url, token }),
    bpftrace,
    perfRbPages: o.perfPages,
    sensorPaceMs: o.sensorPace,
    node,
    recordFile: o.record,
    volumes,
    gpuLibraries: gpu,
    gpuServers,
    otlp,
    host: rules ? captureNeeds(rules.rules) : undefined,
  });
  try {
    await waitLaunched(child.pid!);
    await capture.start();
  } catch (err) {
    child.kill('SIGKILL');
    await app.close();
    await store.close();
    fail(err);
  }
  gate.end('\n');
  const code = await exited;
  // No wait for stragglers: bpftrace 0.23 prints through one ring buffer in order, and the stop
  // probe's last line comes after everything the tree did before it exited.
  let summary;
  try {
    summary = await capture.stop();
  } catch (err) {
    await app.close();
    await store.close();
    fail(err);
  }
  const graph = await store.subgraph(summary.nodeIds);
  await app.close();
  await store.close();
  const procs = graph.nodes.filter((n) => n.type === 'Process').length;
  const title = printable(`provenance of ${[cmd, ...args].join(" ")}`);
  emitRendered(await render(graph, o.format, title), o.out, process.stderr);
  if (summary.sensorExit) {
    process.stderr.write(`faasprov: ${summary.sensorExit}; what CMD did after that is not in the graph (a sensor-exit Gap marks when)\n`);
  }
  if (!o.quiet) {
    const losses = [
      summary.lostEvents > 0 ? `LOST ${summary.lostEvents} events` : '',
      summary.parseErrors > 0 ? `${summary.parseErrors} unparsable lines` : '',
      summary.sensorExit ? 'capture ended early' : '',
    ].filter(Boolean);
    const loss = losses.length > 0 ? `, ${losses.join(', ')} (see Gap nodes)` : ', nothing lost';
    process.stderr.write(
      `faasprov: ${summary.events} events, ${procs} processes, ${graph.nodes.length} nodes, ${graph.edges.length} edges in ${summary.batches} batches${loss}; store ${describeStore(o.store)}\n`,
    );
    const hints = traceHints(graph, o.store);
    if (hints.length > 0) process.stderr.write(`${hints.join('\n')}\n`);
  }
  return code;
}
