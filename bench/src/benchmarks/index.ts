import { captureOverhead } from './capture-overhead.js';
import { ingest } from './ingest.js';
import { agentBench } from './agent.js';
import { scaleoutIngest } from './scaleout-ingest.js';
import { traceLatency } from './trace-latency.js';
import { attackPrecision } from './attack-precision.js';
import { invocationLatency } from './invocation-latency.js';
import { attribution } from './attribution.js';
import { coverage } from './coverage.js';
import { startup } from './startup.js';

export interface Benchmark {
  name: string;
  description: string;
  run(progress: (msg: string) => void): Promise<Record<string, number | string>>;
}

export const benchmarks: Benchmark[] = [ingest, captureOverhead, invocationLatency, agentBench, scaleoutIngest, traceLatency, attackPrecision, attribution, coverage, startup];
