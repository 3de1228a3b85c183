import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeAgent } from '@faasprov/agent';
import { AgentTokens, ApiKeys, DEFAULT_RULES_FILE, RuleEngine, loadRules } from '@faasprov/collector';
import { SqliteGraphStore } from '@faasprov/store';
import { buildServer } from '@faasprov/graph-service';
import { viewPrecision } from './view-precision.js';
import { shopAttacks } from './shop-attacks.js';
import type { AlertNode, GraphNode } from '@faasprov/model';
import { gapTotals, lossFigures, metricValue } from './accounting.js';
import type { Benchmark } from './index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PY = join(ROOT, '.tools/pyvenv/bin/python');

function run(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    c.on('exit', (code) => res(code ?? 1));
  });
}

/** Ground truth of a scenario: the nodes an investigator must see, picked from the stored graph. */
interface Scenario {
  name: string;
  rule: string;
  /** The function whose alert of that rule it is. */
  function: string;
  truth: (nodes: GraphNode[], alert: AlertNode) => GraphNode[];
}

/** An invocation's units and the Invocation node itself: the steps name it, an investigator needs it. */
const unitOf = (nodes: GraphNode[], callId: string) => nodes.filter((n) => (n.type === 'Unit' || n.type === 'Invocation') && n.callId === callId);
const fileEnding = (nodes: GraphNode[], suffix: string) => nodes.filter((n) => n.type === 'File' && n.path.endsWith(suffix));

/**
 * Every attack scenario of the suite under the real agent, alerts by the shipped rules: two local
 * ones (a warm container's planted payload, a reverse shell) and every scripted attack on the
 * example shop. For each, the backward trace from its alert in both views (view-precision.ts).
 */
export const attackPrecision: Benchmark = {
  name: 'attack-precision',
  description: 'per attack scenario (local ones and every scripted shop attack): backward trace size from its alert, recall and precision against the ground truth, full and attack view',
  async run(progress): Promise<Record<string, number | string>> {
    if (process.getuid?.() !== 0) return { skipped: 'needs root (bpftrace)' };
    return { ...(await localAttacks(progress)), ...(await shopAttacks(progress)) };
  },
};

/** The local scenarios: a stand-in watchdog (dash under a name of its own) runs test/fixtures/attacks.py. */
async function localAttacks(progress: (msg: string) => void): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-attack-'));
  const wd = join(dir, 'fpbenchatk');
  copyFileSync('/bin/dash', wd);
  const store = new SqliteGraphStore(join(dir, 's.db'));
  const token = 'bench-token-0123456789abcdef';
  const app = await buildServer({ store, keys: new ApiKeys([], AgentTokens.parse([`bench=${token}`])), rules: new RuleEngine(loadRules(DEFAULT_RULES_FILE)), uiDir: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const agent = new NodeAgent({ collector: url, token, node: 'bench', watchComms: ['fpbenchatk'], spoolDir: join(dir, 'spool'), counterFlushSec: 1, log: () => undefined });
  let attacker: ChildProcess | undefined;
  let running = false;
  try {
    const port = 20000 + Math.floor(Math.random() * 20000);
    attacker = spawn(PY, [join(ROOT, 'test/fixtures/attacker_server.py'), '127.0.0.66', String(port), join(dir, 'stolen')], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => attacker!.stdout!.once('data', r));
    await agent.start();
    running = true;
    progress('agent started');
    mkdirSync(join(dir, 'code'));
    writeFileSync(join(dir, 'cards.txt'), '4111-1111-1111-1111');
    const fn = (name: string, args: string[]) =>
      run(wd, ['-c', `sleep 0.2; exec ${PY} ${join(ROOT, 'test/fixtures/attacks.py')} "$@"`, 'fn', ...args], { FAASPROV_FUNCTION: name });
    const codes = await Promise.all([
      fn('authorize-cc', ['warm', join(dir, 'code'), `127.0.0.66:${port}`, join(dir, 'cards.txt')]),
      fn('publish', ['shell']),
    ]);
    if (codes.some((c) => c !== 0)) throw new Error(`a scenario failed: exit codes ${codes.join(', ')}`);
    await new Promise((r) => setTimeout(r, 3000));
    const lost = await metricValue(agent, 'faasprov_agent_events_lost_total');
    running = false;
    await agent.stop();
    const { nodes } = await store.all();
    const alerts = (await store.alerts({ limit: 500, offset: 0 })) as AlertNode[];
    const scenarios: Scenario[] = [
      {
        name: 'warm-container',
        rule: 'egress-outside-allow-list',
        function: 'authorize-cc',
        truth: (ns) => [
          ...unitOf(ns, 'warm-1'), ...unitOf(ns, 'warm-2'), ...fileEnding(ns, '/code/function/patch.py'), ...fileEnding(ns, '/cards.txt'),
          ...ns.filter((n) => n.type === 'Endpoint' && n.address === '127.0.0.66' && n.port === port),
        ],
      },
      {
        name: 'reverse-shell',
        rule: 'shell-in-function',
        function: 'publish',
        // The invocation, the process it forked, and the shell that process became.
        truth: (ns, a) => [...unitOf(ns, 'shell-1'), ...ns.filter((n) => n.id === a.subject || n.id === a.object)],
      },
    ];
    const out: Record<string, number | string> = lossFigures(lost, await gapTotals(store));
    for (const s of scenarios) {
      // The newest of the rule's alerts about the function: for the warm container, the exfiltration.
      const alert = alerts.find((a) => a.rule === s.rule && a.function === s.function);
      if (!alert) {
        out[`${s.name} alert`] = 'none raised';
        continue;
      }
      const figures = await viewPrecision(store, s.name, alert, s.truth(nodes, alert));
      Object.assign(out, figures);
      progress(`${s.name}: full ${figures[`${s.name} full: nodes`]} nodes, attack ${figures[`${s.name} attack: nodes`]} nodes + ${figures[`${s.name} attack: context groups`]} context groups, recall ${figures[`${s.name} attack: recall`]}`);
    }
    return out;
  } finally {
    if (running) await agent.stop();
    attacker?.kill();
    await app.close();
    await store.close();
    // FAASPROV_BENCH_KEEP=DIR keeps the scenarios' store there, to inspect or replay the views.
    if (process.env.FAASPROV_BENCH_KEEP) cpSync(join(dir, 's.db'), join(process.env.FAASPROV_BENCH_KEEP, 'attack-precision.db'));
    rmSync(dir, { recursive: true, force: true });
  }
}
