import { dirname, resolve } from 'node:path';
import { fail } from '../output.js';
import { functionsDown } from '../functions/down.js';
import { prepareStack } from '../functions/build.js';
import { loadStack } from '../functions/stack.js';
import { alive, readState, stateFileFor } from '../functions/state.js';
import { FunctionsErrors } from '../errors.js';
import { functionsUp, type UpOptions } from '../functions/up.js';

/** functionsUp's options as the command line gives them: times in seconds, logging to stderr. */
export type FunctionsUpOptions = Omit<UpOptions, 'readyTimeoutMs' | 'graceMs' | 'log'> & { readyTimeout: number; grace: number };

const log = (line: string) => process.stderr.write(`faasprov: ${line}\n`);

/** faasprov functions up: until SIGINT/SIGTERM, then everything it made is removed. */
export async function functionsUpCommand(o: FunctionsUpOptions): Promise<void> {
  let stopping = false;
  let running: Awaited<ReturnType<typeof functionsUp>> | undefined;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    log('stopping the stack');
    void (running ? running.stop() : Promise.resolve()).then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running = await functionsUp({ ...o, readyTimeoutMs: o.readyTimeout * 1000, graceMs: o.grace * 1000, log });
  } catch (err) {
    fail(err);
  }
  if (stopping) {
    await running.stop();
    process.exit(0);
  }
  for (const f of running.functions) log(`${f.name}: ${f.instances.map((i) => `${i.address}:8080 (pid ${i.pid})`).join(', ')}`);
  log(`gateway on ${running.gatewayUrl} (functions reach it as ${running.internalGateway}); stop with Ctrl-C or faasprov functions down`);
  process.stdout.write(`${JSON.stringify({ gateway: running.gatewayUrl, state: running.stateFile, functions: running.functions })}\n`);
}

export async function functionsDownCommand(o: { file: string; grace: number }): Promise<void> {
  const file = resolve(o.file);
  // The state file sits beside the stack file: down works even if the stack file changed since.
  const stateFile = stateFileFor(dirname(file));
  const r = await functionsDown(stateFile, o.grace * 1000, log);
  if (!r.found) log(`nothing is up for ${file}`);
  else log(`stopped ${r.instances} instance(s) of ${file}`);
}

/**
 * faasprov functions build: faas-cli build --shrinkwrap and every function's dependencies, as up
 * does first; prints each function's CUDA libraries (to give an agent started before the stack).
 */
export async function functionsBuildCommand(o: { file: string; faasCli?: string }): Promise<void> {
  try {
    const stack = loadStack(o.file);
    // A running stack serves from build/NAME, which faas-cli build rewrites.
    const running = readState(stateFileFor(stack.dir));
    if (running && alive(running.pid, running.start)) throw FunctionsErrors.FP_ERR_FUNCTIONS_RUNNING(stateFileFor(stack.dir), String(running.pid));
    const prepared = await prepareStack(stack, { build: true, faasCli: o.faasCli, log });
    process.stdout.write(`${JSON.stringify({ functions: prepared.map((p) => ({ name: p.f.name, build: p.dir, gpuLibraries: p.gpuLibraries })) })}\n`);
  } catch (err) {
    fail(err);
  }
}
