import { NodeAgent, parseOtlpAddress, preflight, type SchedPolicy } from '@faasprov/agent';
import { captureNeeds } from '@faasprov/collector';
import { fail } from '../output.js';
import { rulesOf } from './up.js';

export interface AgentCliOptions {
  collector?: string;
  nats?: string;
  node?: string;
  watchComm: string;
  spool: string;
  spoolMaxMb: number;
  token?: string;
  bpftrace?: string;
  perfPages: number;
  sensorPace: number;
  metrics: string;
  otlp: string;
  countRaw?: boolean;
  counterFlush: number;
  batchInterval: number;
  batchMaxKb: number;
  sched: SchedPolicy;
  volume: string[];
  volumeFstype: string[];
  gpuLib: string[];
  gpuServer: string[];
  /** The collector's rules (what they ask capture to keep), or false for --no-rules. */
  rules?: string | false;
}

function hostPort(s: string): { host: string; port: number } | undefined {
  if (s === 'off') return undefined;
  const m = /^(.+):(\d+)$/.exec(s);
  if (!m) fail(new Error(`--metrics: expected HOST:PORT or off, got ${JSON.stringify(s)}`));
  return { host: m[1]!, port: Number(m[2]) };
}

/** faasprov agent: the per-node daemon, until SIGINT/SIGTERM. */
export async function agentCommand(o: AgentCliOptions): Promise<void> {
  if (!o.collector === !o.nats) fail(new Error('give exactly one of --collector URL (HTTP) and --nats URL (JetStream)'));
  for (const [flag, v] of [['--collector', o.collector], ['--nats', o.nats]] as const) {
    if (v === undefined) continue;
    try {
      new URL(v);
    } catch {
      fail(new Error(`${flag}: not a URL: ${JSON.stringify(v)}`));
    }
  }
  let bpftrace: string;
  try {
    ({ bpftrace } = await preflight({ bpftrace: o.bpftrace }));
  } catch (err) {
    fail(err);
  }
  let otlp: { host: string; port: number } | undefined;
  try {
    otlp = parseOtlpAddress(o.otlp);
  } catch (err) {
    fail(err);
  }
  let agent: NodeAgent;
  try {
    agent = new NodeAgent({
      otlp,
      collector: o.collector,
      nats: o.nats,
      token: o.token,
      node: o.node,
      watchComms: o.watchComm.split(',').map((s) => s.trim()).filter(Boolean),
      spoolDir: o.spool,
      spoolMaxBytes: o.spoolMaxMb * 1024 * 1024,
      bpftrace,
      perfRbPages: o.perfPages,
      sensorPaceMs: o.sensorPace,
      metrics: hostPort(o.metrics),
      countRaw: o.countRaw,
      counterFlushSec: o.counterFlush,
      flushIntervalMs: o.batchInterval,
      maxBatchBytes: o.batchMaxKb * 1024,
      sched: o.sched,
      volumes: o.volume,
      volumeFstypes: o.volumeFstype,
      gpuLibs: o.gpuLib,
      gpuServers: o.gpuServer,
      host: captureNeedsOf(o.rules ?? 'default'),
    });
    await agent.start();
  } catch (err) {
    fail(err);
  }
  process.stderr.write(`faasprov agent: running as ${agent.agentId}${agent.metricsUrl ? `, metrics on ${agent.metricsUrl}` : ''}${agent.otlpUrl ? `, OTLP on ${agent.otlpUrl}` : ''}\n`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`faasprov agent: ${sig}: flushing\n`);
    const r = await agent.stop();
    process.stderr.write(`faasprov agent: stopped; ${r.delivered ? 'every batch delivered' : `${agent.spool.pendingCount} batches stay in the spool for the next start`}\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** What the rules ask capture to keep: failed opens of their sensitive paths, their exec variables. */
function captureNeedsOf(spec: string | false) {
  const rules = rulesOf(spec);
  return rules ? captureNeeds(rules.rules) : undefined;
}
