import { defineError } from '@faasprov/model';

/** How to get a bpftrace that faasprov can run. */
const GET_BPFTRACE =
  'run scripts/ensure-bpftrace.sh in the faasprov checkout (or make deps), which provisions Debian 13\'s bpftrace into .tools/bpftrace without touching the system; on Debian 13 or newer, apt-get install bpftrace; or pass --bpftrace PATH';

/** Error catalog of the agent. Codes are stable; retired codes stay listed. */
export const AgentErrors = {
  FP_ERR_NOT_ROOT: defineError('FP_ERR_NOT_ROOT', () => 'faasprov capture needs root (bpftrace loads BPF programs); run it as root or with sudo'),
  FP_ERR_NO_BPFTRACE: defineError('FP_ERR_NO_BPFTRACE', (bin) => `bpftrace not found (${bin}); ${GET_BPFTRACE}`),
  FP_ERR_OLD_BPFTRACE: defineError('FP_ERR_OLD_BPFTRACE', (bin, version, min) => `${bin} is bpftrace ${version}; faasprov needs ${min} or newer: ${GET_BPFTRACE}`),
  FP_ERR_NO_TRACEFS: defineError('FP_ERR_NO_TRACEFS', (why) => `tracefs is not mounted at /sys/kernel/tracing and mounting it failed: ${why}`),
  FP_ERR_NO_BTF: defineError('FP_ERR_NO_BTF', () => 'this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); faasprov needs a kernel built with CONFIG_DEBUG_INFO_BTF'),
  FP_ERR_SENSOR_START: defineError('FP_ERR_SENSOR_START', (why) => `bpftrace failed to start: ${why}`),
  FP_ERR_SPOOL: defineError('FP_ERR_SPOOL', (dir, why) => `cannot use the spool ${dir}: ${why}`),
  FP_ERR_BAD_WATCH: defineError('FP_ERR_BAD_WATCH', (what) => `bad --watch-comm: ${what} (names are 1-64 of A-Z a-z 0-9 . _ -)`),
  FP_ERR_TRANSPORT: defineError('FP_ERR_TRANSPORT', () => 'give exactly one of --collector URL (HTTP) and --nats URL (JetStream)'),
  FP_ERR_BAD_VOLUME: defineError('FP_ERR_BAD_VOLUME', (spec, why) => `bad F3 volume ${JSON.stringify(spec)}: ${why}`),
  FP_ERR_GPU_LIBRARY: defineError('FP_ERR_GPU_LIBRARY', (path, why) => `cannot probe the GPU library ${JSON.stringify(path)}: ${why}`),
  FP_ERR_BAD_GPU_SERVER: defineError('FP_ERR_BAD_GPU_SERVER', (spec) => `bad --gpu-server ${JSON.stringify(spec)}: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)`),
  FP_ERR_BAD_NODE: defineError('FP_ERR_BAD_NODE', (name) => `bad node name ${JSON.stringify(name)}: node names are 1-100 of A-Z a-z 0-9 . _ - (they start the agent id, which the collector binds to the node)`),
  FP_ERR_BAD_TOKEN: defineError('FP_ERR_BAD_TOKEN', () => 'the agent token is shorter than 16 characters (the collector refuses such tokens too); make a longer one, e.g. openssl rand -hex 24'),
  FP_ERR_BAD_OTLP: defineError('FP_ERR_BAD_OTLP', (v) => `bad --otlp ${JSON.stringify(v)}: expected HOST:PORT (IPv6 as [ADDRESS]:PORT) or off`),
  FP_ERR_SHIP: defineError('FP_ERR_SHIP', (why) => `cannot deliver a batch to the collector: ${why}`),
} as const;
