import { Command, InvalidArgumentError, Option } from 'commander';
import { FORMATS } from '@faasprov/graph-service';
import { DEFAULT_PORT, defaultStorePath } from './defaults.js';
import { runCommand } from './commands/run.js';
import { traceCommand } from './commands/trace.js';
import { upCommand } from './commands/up.js';

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

const storeOption = () => new Option('--store <file>', 'the embedded graph store (SQLite)').env('FAASPROV_STORE').default(defaultStorePath());
const formatOption = () => new Option('--format <format>', 'output format').choices([...FORMATS]).default('tree');

program
  .command('run')
  .description("run CMD under capture and print its provenance graph (on stderr, or to --out), exiting with CMD's code")
  .usage('[options] -- CMD [ARGS...]')
  .argument('<cmd...>', 'the command to run and its arguments (put them after --)')
  .addOption(storeOption())
  .addOption(formatOption())
  .option('--out <file>', 'write the graph to this file instead of stderr')
  .option('--bpftrace <path>', 'the bpftrace binary', 'bpftrace')
  .option('--perf-pages <n>', 'per-CPU perf buffer size in pages', int('--perf-pages', 8, 65536), 256)
  .option('--node <name>', 'the node name recorded in the graph (default: hostname)')
  .option('-q, --quiet', 'no summary line')
  .passThroughOptions()
  .action(async (cmd: string[], o) => {
    const code = await runCommand(cmd, o);
    process.exit(code);
  });

program
  .command('up')
  .description('run the collector and the graph service on the embedded store')
  .addOption(storeOption())
  .option('--host <addr>', 'listen address', '127.0.0.1')
  .option('--port <n>', 'listen port', int('--port', 0, 65535), DEFAULT_PORT)
  .option('--agent-token <name=token>', 'admit agent NAME (ids NAME or NAME:*) by this bearer token (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .addOption(new Option('--agent-tokens <file>', 'a file of NAME=TOKEN lines').env('FAASPROV_AGENT_TOKENS'))
  .option('--no-auth', 'accept batches without a token (trusted hosts only)')
  .action(async (o) => upCommand(o));

program
  .command('trace')
  .description('print a time-respecting trace from a node: --backward to the root cause, --forward to the impact')
  .argument('<node-id>', 'the id of the start node (from a graph printed with --format json)')
  .option('--backward', 'what the node depends on (root cause)')
  .option('--forward', 'what depends on the node (impact)')
  .addOption(storeOption())
  .addOption(formatOption())
  .option('--out <file>', 'write to this file instead of stdout')
  .option('--max-depth <n>', 'hops from the start node', int('--max-depth', 0, 1000), 64)
  .action((id: string, o) => process.exit(traceCommand(id, o)));

await program.parseAsync(process.argv);
