import { Command, InvalidArgumentError, Option } from 'commander';
import { CLI_FORMATS } from './render.js';
import { exitFlushed } from './output.js';
import { DEFAULT_PORT, defaultSpoolDir, defaultStorePath } from './defaults.js';
import { agentCommand } from './commands/agent.js';
import { collectorCommand } from './commands/collector.js';
import { searchCommand } from './commands/search.js';
import { alertsCommand } from './commands/alerts.js';
import { exportCommand } from './commands/export.js';
import { NODE_TYPES, SEVERITIES } from '@faasprov/model';
import { DEFAULT_PERF_RB_PAGES, DEFAULT_SENSOR_PACE_MS, SCHED_POLICIES } from '@faasprov/agent';
import { runCommand } from './commands/run.js';
import { traceCommand } from './commands/trace.js';
import { upCommand } from './commands/up.js';
import { doctorCommand } from './commands/doctor.js';
import { demoCommand } from './commands/demo.js';
import { functionsBuildCommand, functionsDownCommand, functionsUpCommand } from './commands/functions.js';

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command()
  .name('faasprov')
  .description('Provenance auditing for serverless functions: capture, store and trace what processes did.')
  .version('0.1.0')
  .enablePositionalOptions()
  .showHelpAfterError();

const collect = (v: string, acc: string[]) => [...acc, v];

const storeOption = () =>
  new Option('--store <store>', 'the graph store: FILE or sqlite:FILE (embedded), or neo4j://[USER:PASS@]HOST:PORT (NEO4J_USER, NEO4J_PASSWORD)')
    .env('FAASPROV_STORE')
    .default(defaultStorePath());
const formatOption = () => new Option('--format <format>', 'output format (svg and png need Graphviz)').choices([...CLI_FORMATS]).default('tree');

program
  .command('doctor')
  .description('check what capture and the stores need on this machine (root, kernel BTF, tracefs, bpftrace >= 0.23, Node, better-sqlite3, Neo4j and NATS when given, Graphviz, chrt, nm), with the fix for each one missing; exit 1 when capture cannot start')
  .option('--bpftrace <path>', 'the bpftrace to check (default: the one run and agent use)')
  .addOption(new Option('--store <store>', 'also check this store (a neo4j:// or bolt:// URL is connected to)').env('FAASPROV_STORE'))
  .option('--nats <url>', 'also check this NATS server (JetStream)')
  .action(async (o) => exitFlushed(await doctorCommand(o)));

program
  .command('run')
  .description("run CMD under capture and print its provenance graph (on stderr, or to --out), exiting with CMD's code")
  .usage('[options] -- CMD [ARGS...]')
  .argument('<cmd...>', 'the command to run and its arguments (put them after --)')
  .addOption(storeOption())
  .addOption(formatOption())
  .option('--out <file>', 'write the graph to this file instead of stderr')
  .option('--bpftrace <path>', 'the bpftrace binary, 0.23 or newer (default: $FAASPROV_BPFTRACE, else the one scripts/ensure-bpftrace.sh put in .tools, else bpftrace on PATH)')
  .option('--perf-pages <n>', "size of bpftrace's output ring buffer in pages (one buffer for all CPUs, bpftrace 0.23)", int('--perf-pages', 8, 65536), DEFAULT_PERF_RB_PAGES)
  .option('--sensor-pace <ms>', 'while events flow, let bpftrace drain its output every MS ms instead of waking it for every event (0: always wake it)', int('--sensor-pace', 0, 1000), DEFAULT_SENSOR_PACE_MS)
  .option('--node <name>', 'the node name recorded in the graph (default: hostname)')
  .option('-q, --quiet', 'no summary line')
  .option('--record <file>', 'also append the raw kernel event lines to FILE (bug reports, replay)')
  .option('--volume <mount=id:tier[:node]>', 'an F3 volume: files under MOUNT are volume ID, tier ephemeral|durable (repeatable)', collect, [])
  .option('--volume-fstype <type=tier>', 'every mount of this file-system type is an F3 volume of this tier (repeatable)', collect, [])
  .option('--gpu-lib <path>', 'a CUDA library (runtime, driver or API-remoting guest) to probe (repeatable)', collect, [])
  .option('--gpu-server <addr:port>', 'a GPU server of a disaggregated pool (repeatable)', collect, [])
  .option('--otlp <host:port>', "also receive CMD's OpenTelemetry spans (OTLP/HTTP, /v1/traces) here, or off", 'off')
  .option('--rules <file>', 'alert rules evaluated on the capture, and what they ask capture to keep (sensitive paths, exec variables); "default": the shipped rules', 'default')
  .option('--no-rules', 'evaluate no alert rules')
  .passThroughOptions()
  .action(async (cmd: string[], o) => {
    await exitFlushed(await runCommand(cmd, o));
  });

program
  .command('agent')
  .description('the node agent: watch every function instance (a tree rooted at a watchdog) and ship its provenance')
  .option('--collector <url>', 'an HTTP collector, e.g. http://127.0.0.1:7770')
  .option('--nats <url>', 'or a NATS server with JetStream (scale-out), e.g. nats://127.0.0.1:4222')
  .option('--node <name>', 'this node\'s name in the graph (default: hostname)')
  .option('--watch-comm <names>', 'comma-separated process names that root an instance', 'fwatchdog,of-watchdog')
  .addOption(new Option('--spool <dir>', 'where unacknowledged batches wait on disk').default(defaultSpoolDir()))
  .option('--spool-max-mb <n>', 'cap on the spool; over it the newest operations are dropped and recorded as a Gap', int('--spool-max-mb', 1, 1048576), 256)
  .addOption(new Option('--token <token>', 'this agent\'s bearer token for the collector').env('FAASPROV_AGENT_TOKEN'))
  .option('--bpftrace <path>', 'the bpftrace binary, 0.23 or newer (default: $FAASPROV_BPFTRACE, else the one scripts/ensure-bpftrace.sh put in .tools, else bpftrace on PATH)')
  .option('--perf-pages <n>', "size of bpftrace's output ring buffer in pages (one buffer for all CPUs, bpftrace 0.23)", int('--perf-pages', 1, 65536), DEFAULT_PERF_RB_PAGES)
  .option('--sensor-pace <ms>', 'while events flow, let bpftrace drain its output every MS ms instead of waking it for every event (0: always wake it)', int('--sensor-pace', 0, 1000), DEFAULT_SENSOR_PACE_MS)
  .option('--metrics <host:port>', 'serve Prometheus metrics at /metrics, or off', '127.0.0.1:7771')
  .option('--otlp <host:port>', "receive the functions' OpenTelemetry spans (OTLP/HTTP, /v1/traces), or off", '127.0.0.1:4318')
  .option('--counter-flush <s>', 'seconds between flushes of in-kernel counters', int('--counter-flush', 1, 3600), 10)
  .option('--batch-interval <ms>', 'milliseconds between batches sent to the collector', int('--batch-interval', 50, 60000), 1000)
  .option('--batch-max-kb <n>', 'a batch holds at most this many KiB of JSON (bigger ones are split; with --nats, never more than the server\'s max_payload)', int('--batch-max-kb', 16, 1048576), 8192)
  .addOption(new Option('--sched <policy>', 'scheduling policy of the agent and bpftrace: batch and idle never preempt a function when they wake; normal leaves it').choices(SCHED_POLICIES).default('batch'))
  .option('--count-raw', 'also count every syscall of watched processes (reduction ratio; costs more)')
  .option('--volume <mount=id:tier[:node]>', 'an F3 volume: files under MOUNT are volume ID, tier ephemeral|durable, data on NODE (repeatable)', collect, [])
  .option('--volume-fstype <type=tier>', 'every mount of this file-system type (e.g. fuse.bindfs) is an F3 volume of this tier (repeatable)', collect, [])
  .option('--gpu-lib <path>', 'a CUDA library (runtime, driver or API-remoting guest) to probe, besides those running functions map (repeatable)', collect, [])
  .option('--gpu-server <addr:port>', 'a GPU server of a disaggregated pool: connects to it are API remoting (repeatable)', collect, [])
  .option('--rules <file>', 'the collector\'s alert rules: what they ask capture to keep (failed opens of sensitive paths, exec variables); "default": the shipped rules', 'default')
  .option('--no-rules', 'keep nothing for rules beyond operations')
  .action(async (o) => agentCommand(o));

program
  .command('collector')
  .description('a scale-out collector: pull batches from NATS JetStream into the store (run as many as you like)')
  .requiredOption('--nats <url>', 'the NATS server, e.g. nats://127.0.0.1:4222')
  .addOption(storeOption())
  .option('--durable <name>', 'the durable consumer all collectors share', 'faasprov-collector')
  .addOption(new Option('--nats-user <user>', 'NATS user').env('NATS_USER'))
  .addOption(new Option('--nats-password <password>', 'NATS password').env('NATS_PASSWORD'))
  .option('--rules <file>', 'alert rules (JSON, see collector/rules/default.json); "default": the shipped rules', 'default')
  .option('--no-rules', 'evaluate no alert rules')
  .option('--metrics <host:port>', 'serve the counters (batches, NATS reconnects and resumes) as JSON at /metrics, or off', 'off')
  .action(async (o) => collectorCommand(o));

program
  .command('up')
  .description('run the collector and the graph service on the embedded store')
  .addOption(storeOption())
  .option('--host <addr>', 'listen address', '127.0.0.1')
  .option('--port <n>', 'listen port', int('--port', 0, 65535), DEFAULT_PORT)
  .option('--agent-token <name=token>', 'admit agent NAME (ids NAME or NAME:*) by this bearer token (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .addOption(new Option('--agent-tokens <file>', 'a file of NAME=TOKEN lines').env('FAASPROV_AGENT_TOKENS'))
  .addOption(new Option('--api-keys <file>', 'a JSON file of API keys: [{"name","role":"agent|investigator|admin","tenants":["ns"]|"*","key"}]').env('FAASPROV_API_KEYS'))
  .option('--cors-origin <origin>', 'allow browsers from this origin (CORS is off otherwise)')
  .option('--rate-limit <n>', 'requests per minute per key', int('--rate-limit', 1, 1000000), 1200)
  .option('--no-auth', 'accept requests without a token (trusted hosts only)')
  .option('--rules <file>', 'alert rules (JSON, see collector/rules/default.json); "default": the shipped rules', 'default')
  .option('--no-rules', 'evaluate no alert rules')
  .action(async (o) => upCommand(o));

const functions = program.command('functions').description('run a faas-cli stack on this machine under the real of-watchdog, one network namespace per instance (root)');
functions
  .command('up')
  .description('build (faas-cli build --shrinkwrap), install dependencies, start every instance and the gateway; until SIGINT/SIGTERM')
  .option('-f, --file <stack.yaml>', 'the faas-cli stack file', 'stack.yaml')
  .option('--scale <n>', 'instances per function', int('--scale', 1, 250), 1)
  .option('--gateway <host:port>', 'where our gateway listens (loopback or a private address)', '127.0.0.1:8080')
  .option('--otlp <host:port>', "the node agent's OTLP receiver, relayed to the functions' namespaces", '127.0.0.1:4318')
  .option('--no-build', 'use the build/NAME folders as they are (no faas-cli build)')
  .option('--watchdog <path>', 'the of-watchdog binary (default: .tools/bin, then PATH)')
  .option('--faas-cli <path>', 'the faas-cli binary (default: .tools/bin, then PATH)')
  .option('--ready-timeout <s>', 'seconds an instance may take to listen', int('--ready-timeout', 1, 3600), 60)
  .option('--grace <s>', 'seconds between SIGTERM and SIGKILL when stopping an instance', int('--grace', 0, 600), 5)
  .action(async (o) => functionsUpCommand(o));
functions
  .command('build')
  .description("what up does before it starts anything: faas-cli build --shrinkwrap and each function's dependencies; prints each function's CUDA libraries as JSON (for the agent's --gpu-lib)")
  .option('-f, --file <stack.yaml>', 'the faas-cli stack file', 'stack.yaml')
  .option('--faas-cli <path>', 'the faas-cli binary (default: .tools/bin, then PATH)')
  .action(async (o) => functionsBuildCommand(o));
functions
  .command('down')
  .description('stop what functions up started for this stack (also after a killed up): instances, namespaces, bridge')
  .option('-f, --file <stack.yaml>', 'the faas-cli stack file', 'stack.yaml')
  .option('--grace <s>', 'seconds between SIGTERM and SIGKILL when stopping an instance', int('--grace', 0, 600), 5)
  .action(async (o) => functionsDownCommand(o));

const serverOption = () => new Option('--server <url>', 'ask this graph service (faasprov up) instead of opening --store').env('FAASPROV_URL');
const keyOption = () => new Option('--key <key>', 'API key for --server').env('FAASPROV_API_KEY');
const timeOption = (flag: string, what: string) => new Option(`${flag} <us>`, what).argParser(int(flag, 0, Number.MAX_SAFE_INTEGER));

/** The options every paged listing through the API takes (alerts, search); what: "alerts", "nodes"… */
const listOptions = (cmd: Command, what: string, fn: string): Command =>
  cmd
    .option('--function <name>', fn)
    .addOption(timeOption('--since', `only ${what} from this time on (µs since the epoch)`))
    .addOption(timeOption('--until', `only ${what} up to this time (µs)`))
    .option('--limit <n>', 'results per page', int('--limit', 1, 500), 50)
    .option('--offset <n>', 'skip this many results', int('--offset', 0, 100000), 0)
    .option('--json', 'print the API answer as JSON')
    .addOption(storeOption())
    .addOption(serverOption())
    .addOption(keyOption());

listOptions(
  program
    .command('alerts')
    .description('alerts the collector\'s rules raised, newest first')
    .addOption(new Option('--severity <level>', 'at least this severity').choices([...SEVERITIES])),
  'alerts',
  'only alerts about this function',
).action(async (o) => exitFlushed(await alertsCommand(o)));

listOptions(
  program
    .command('search')
    .description('find nodes whose path, address, executable, function or cause contains TEXT')
    .argument('[text]', 'the text to look for (any case)')
    .addOption(new Option('--type <type>', 'only this node type').choices([...NODE_TYPES])),
  'nodes',
  'only instances of this function',
).action(async (text: string | undefined, o) => exitFlushed(await searchCommand(text, o)));

program
  .command('demo')
  .description('run an attack scenario against the running example shop (examples/shop), then print its alert and story')
  .addOption(new Option('--attack <scenario>', 'a: warm-container reuse; b: exfiltration through the shared volume; c: a reverse shell; d: a GPU buffer left by one invocation, read by another; e: a mounted secret used through the gateway').choices(['a', 'b', 'c', 'd', 'e']).default('a'))
  .option('-f, --file <stack>', "the shop's stack file", 'examples/shop/stack.yaml')
  .option('--truth <file>', "write the scenario's ground truth (invocations, payload, attacker) as JSON")
  .option('--wait-s <n>', 'how long to wait for the alert', int('--wait-s', 1, 600), 90)
  .option('--json', 'print the alert, its attack view and the ground truth as JSON')
  .option('--list', 'print the scripted attacks as JSON and run nothing')
  .addOption(storeOption())
  .addOption(serverOption())
  .addOption(keyOption())
  .action(async (o) => exitFlushed(await demoCommand(o)));

program
  .command('export')
  .description('export the trace from a node as W3C PROV-JSON, DOT, GraphML or JSON')
  .argument('<node-id>', 'the start node')
  .addOption(new Option('--direction <d>', 'backward (root cause) or forward (impact)').choices(['backward', 'forward']).default('backward'))
  .addOption(new Option('--format <format>', 'export format').choices(['prov-json', 'dot', 'graphml', 'json']).default('prov-json'))
  .option('--out <file>', 'write to this file instead of stdout')
  .option('--max-depth <n>', 'hops from the start node', int('--max-depth', 0, 100), 64)
  .addOption(storeOption())
  .addOption(serverOption())
  .addOption(keyOption())
  .action(async (id: string, o) => exitFlushed(await exportCommand(id, o)));

program
  .command('trace')
  .description('print a time-respecting trace from a node: --backward to the root cause, --forward to the impact')
  .argument('<node-id>', 'the id of the start node (from a graph printed with --format json)')
  .option('--backward', 'what the node depends on (root cause)')
  .option('--forward', 'what depends on the node (impact)')
  .addOption(storeOption())
  .addOption(formatOption())
  .option('--out <file>', 'write to this file instead of stdout')
  .option('--max-depth <n>', 'hops from the start node', int('--max-depth', 0, 100), 64)
  .addOption(timeOption('--since', 'only what happened from this time on (µs since the epoch)'))
  .addOption(timeOption('--until', 'only what happened up to this time (µs)'))
  .addOption(new Option('--view <view>', 'full: every node; attack: the causal chain with steps, context folded into summaries (tree or json)').choices(['full', 'attack']).default('full'))
  .addOption(serverOption())
  .addOption(keyOption())
  .action(async (id: string, o) => exitFlushed(await traceCommand(id, o)));

await program.parseAsync(process.argv);
