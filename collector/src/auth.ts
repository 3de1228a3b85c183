import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineError } from '@faasprov/model';

export const AuthErrors = {
  FP_ERR_UNAUTHORIZED: defineError('FP_ERR_UNAUTHORIZED', () => 'unknown or missing agent token', 401),
  FP_ERR_WRONG_AGENT: defineError('FP_ERR_WRONG_AGENT', (agent, name) => `token of ${name} cannot send batches of agent ${agent}`, 403),
  FP_ERR_TOKENS_FILE: defineError('FP_ERR_TOKENS_FILE', (file, why) => `agent tokens file ${file}: ${why}`),
} as const;

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Per-agent tokens: NAME=TOKEN. A token admits batches whose agent id is NAME or NAME:anything.
 * Tokens are compared as SHA-256 digests with timingSafeEqual, against every entry, so neither
 * a token's length nor its position leaks through timing.
 */
export class AgentTokens {
  private readonly entries: { name: string; digest: Buffer }[] = [];

  constructor(pairs: Iterable<[string, string]>) {
    for (const [name, token] of pairs) {
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new Error(`bad agent name ${JSON.stringify(name)}`);
      if (token.length < 16) throw new Error(`the token of ${name} is shorter than 16 characters`);
      this.entries.push({ name, digest: digest(token) });
    }
  }

  static parse(specs: string[]): AgentTokens {
    return new AgentTokens(
      specs.map((s) => {
        const i = s.indexOf('=');
        if (i <= 0) throw new Error(`expected NAME=TOKEN, got ${JSON.stringify(s.slice(0, 40))}`);
        return [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  }

  static fromFile(file: string): AgentTokens {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw AuthErrors.FP_ERR_TOKENS_FILE(file, (err as Error).message);
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    try {
      return AgentTokens.parse(lines);
    } catch (err) {
      throw AuthErrors.FP_ERR_TOKENS_FILE(file, (err as Error).message);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** The agent name this bearer token belongs to, or undefined. */
  identify(token: string | undefined): string | undefined {
    const d = digest(token ?? '');
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && token) found = e.name;
    return found;
  }

  static admits(name: string, agent: string): boolean {
    return agent === name || agent.startsWith(`${name}:`);
  }
}
