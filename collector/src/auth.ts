import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineError } from '@faasprov/model';

export const AuthErrors = {
  FP_ERR_UNAUTHORIZED: defineError('FP_ERR_UNAUTHORIZED', () => 'unknown or missing token', 401),
  FP_ERR_FORBIDDEN: defineError('FP_ERR_FORBIDDEN', (role, what) => `a key with role ${role} cannot ${what}`, 403),
  FP_ERR_WRONG_AGENT: defineError('FP_ERR_WRONG_AGENT', (agent, name) => `token of ${name} cannot send batches of agent ${agent}`, 403),
  FP_ERR_TOKENS_FILE: defineError('FP_ERR_TOKENS_FILE', (file, why) => `agent tokens file ${file}: ${why}`),
  FP_ERR_API_KEYS_FILE: defineError('FP_ERR_API_KEYS_FILE', (file, why) => `API keys file ${file}: ${why}`),
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

  /** The file's NAME=TOKEN lines, plus any given on the command line. */
  static fromFile(file: string, extra: string[] = []): AgentTokens {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw AuthErrors.FP_ERR_TOKENS_FILE(file, (err as Error).message);
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    try {
      return AgentTokens.parse([...lines, ...extra]);
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

export type Role = 'agent' | 'investigator' | 'admin';

/** Who made a request: an agent (ingest), an investigator (read) or an admin, over some tenants. */
export interface Principal {
  name: string;
  role: Role;
  /** '*' for every tenant. */
  tenants: '*' | string[];
}

interface KeyEntry extends Principal {
  digest: Buffer;
}

const ROLES: readonly Role[] = ['agent', 'investigator', 'admin'];
const TENANT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * API keys: a JSON file of {name, role, tenants, key}. Keys are compared as SHA-256 digests
 * in constant time against every entry. Agent tokens (AgentTokens) count as role agent.
 */
export class ApiKeys {
  private readonly entries: KeyEntry[] = [];

  constructor(keys: { name: string; role: string; tenants: string[] | '*'; key: string }[], private readonly agents?: AgentTokens) {
    for (const k of keys) {
      if (!/^[A-Za-z0-9._@-]{1,100}$/.test(k.name ?? '')) throw new Error(`bad key name ${JSON.stringify(k.name)}`);
      if (!ROLES.includes(k.role as Role)) throw new Error(`key ${k.name}: role must be one of ${ROLES.join(', ')}`);
      if (typeof k.key !== 'string' || k.key.length < 24) throw new Error(`key ${k.name}: keys are at least 24 characters`);
      const tenants = k.tenants === '*' ? '*' : k.tenants;
      if (tenants !== '*' && (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string' && TENANT.test(t)))) {
        throw new Error(`key ${k.name}: tenants must be "*" or a list of namespace names`);
      }
      this.entries.push({ name: k.name, role: k.role as Role, tenants, digest: digest(k.key) });
    }
  }

  static fromFile(file: string, agents?: AgentTokens): ApiKeys {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw AuthErrors.FP_ERR_API_KEYS_FILE(file, (err as Error).message);
    }
    if (!Array.isArray(parsed)) throw AuthErrors.FP_ERR_API_KEYS_FILE(file, 'expected a JSON array of {name, role, tenants, key}');
    try {
      return new ApiKeys(parsed as ConstructorParameters<typeof ApiKeys>[0], agents);
    } catch (err) {
      throw AuthErrors.FP_ERR_API_KEYS_FILE(file, (err as Error).message);
    }
  }

  /** The principal behind a bearer token, or undefined. */
  authenticate(token: string | undefined): Principal | undefined {
    const d = digest(token ?? '');
    let found: KeyEntry | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && token) found = e;
    if (found) return { name: found.name, role: found.role, tenants: found.tenants };
    const agent = this.agents?.identify(token);
    return agent ? { name: agent, role: 'agent', tenants: '*' } : undefined;
  }
}

/** The bearer token of an Authorization header. */
export function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}
