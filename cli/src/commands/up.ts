import { buildServer } from '@faasprov/graph-service';
import { AgentTokens, ApiKeys, DEFAULT_RULES_FILE, RuleEngine, loadRules } from '@faasprov/collector';
import { describeStore } from '@faasprov/store';
import { fail, openStore } from '../output.js';

export interface UpOptions {
  store: string;
  host: string;
  port: number;
  agentToken?: string[];
  agentTokens?: string;
  apiKeys?: string;
  corsOrigin?: string;
  rateLimit?: number;
  /** commander's --no-auth: auth === false. */
  auth: boolean;
  /** A rules file, or false for --no-rules. */
  rules: string | false;
}

/** The rules the collector evaluates: the shipped defaults, a file, or none. */
export function rulesOf(spec: string | false): RuleEngine | undefined {
  if (spec === false) return undefined;
  try {
    return new RuleEngine(loadRules(spec === 'default' ? DEFAULT_RULES_FILE : spec));
  } catch (err) {
    fail(err);
  }
}

function keysOf(o: UpOptions): ApiKeys | undefined {
  if (!o.auth) {
    process.stderr.write('faasprov: WARNING: --no-auth: anyone who reaches this port can write to and read the graph\n');
    return undefined;
  }
  try {
    const inline = o.agentToken ?? [];
    const agents = o.agentTokens ? AgentTokens.fromFile(o.agentTokens, inline) : inline.length > 0 ? AgentTokens.parse(inline) : undefined;
    const keys = o.apiKeys ? ApiKeys.fromFile(o.apiKeys, agents) : agents ? new ApiKeys([], agents) : undefined;
    if (!keys) {
      fail(new Error('agents and users must authenticate: give --agent-token NAME=TOKEN, --agent-tokens FILE or --api-keys FILE (or --no-auth on a trusted host)'));
    }
    return keys;
  } catch (err) {
    fail(err);
  }
}

/** faasprov up: the collector and the graph service on the embedded store, until a signal. */
export async function upCommand(o: UpOptions): Promise<void> {
  const keys = keysOf(o);
  const rules = rulesOf(o.rules);
  const store = await openStore(o.store);
  const app = await buildServer({ store, collector: true, logger: true, keys, corsOrigin: o.corsOrigin, rateLimitPerMinute: o.rateLimit, rules });
  try {
    const url = await app.listen({ host: o.host, port: o.port });
    process.stderr.write(`faasprov: collector and graph service on ${url} (store ${describeStore(o.store)})\n`);
  } catch (err) {
    await store.close();
    fail(err);
  }
  const stop = async () => {
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
