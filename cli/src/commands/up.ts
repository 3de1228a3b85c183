import { buildServer } from '@faasprov/graph-service';
import { AgentTokens } from '@faasprov/collector';
import { describeStore } from '@faasprov/store';
import { fail, openStore } from '../output.js';

export interface UpOptions {
  store: string;
  host: string;
  port: number;
  agentToken?: string[];
  agentTokens?: string;
  /** commander's --no-auth: auth === false. */
  auth: boolean;
}

function tokensOf(o: UpOptions): AgentTokens | undefined {
  if (!o.auth) {
    process.stderr.write('faasprov: WARNING: --no-auth: any process that reaches the collector can write to the graph\n');
    return undefined;
  }
  const specs = [...(o.agentToken ?? [])];
  try {
    const fromFile = o.agentTokens ? AgentTokens.fromFile(o.agentTokens) : undefined;
    const inline = specs.length > 0 ? AgentTokens.parse(specs) : undefined;
    if (!fromFile && !inline) {
      fail(new Error('agents must authenticate: give --agent-token NAME=TOKEN or --agent-tokens FILE (or --no-auth on a trusted host)'));
    }
    return new AgentTokensUnion([fromFile, inline]);
  } catch (err) {
    fail(err);
  }
}

/** Tokens from the file and from flags together. */
class AgentTokensUnion extends AgentTokens {
  constructor(private readonly parts: (AgentTokens | undefined)[]) {
    super([]);
  }
  override identify(token: string | undefined): string | undefined {
    let found: string | undefined;
    for (const p of this.parts) found = p?.identify(token) ?? found;
    return found;
  }
}

/** faasprov up: the collector and the graph service on the embedded store, until a signal. */
export async function upCommand(o: UpOptions): Promise<void> {
  const tokens = tokensOf(o);
  const store = await openStore(o.store);
  const app = await buildServer({ store, collector: true, logger: true, tokens });
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
