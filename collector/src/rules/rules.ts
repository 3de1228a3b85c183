import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SEVERITIES, defineError, globMatcher, globPrefixes } from '@faasprov/model';

export const RuleErrors = {
  FP_ERR_BAD_RULES: defineError('FP_ERR_BAD_RULES', (file, why) => `bad rules file ${file}: ${why}`),
} as const;

const Common = {
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
  severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s))),
  description: Type.Optional(Type.String({ maxLength: 512 })),
};
const Globs = Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 256 });
const RuleSchema = Type.Union([
  Type.Object({ ...Common, kind: Type.Literal('shell-spawned'), shells: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1 }) }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('file-write'), paths: Globs, except: Type.Optional(Globs) }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('file-read'), paths: Globs }, { additionalProperties: false }),
  // Secret reads a function's own start-up and invocations do not explain (secrets.ts).
  Type.Object({ ...Common, kind: Type.Literal('secret-access'), paths: Globs }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('connect-outside'), allow: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1024 }) }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('cross-invocation') }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('gpu-cross') }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('gap') }, { additionalProperties: false }),
  // Learned per instance (rules/code.ts), not globs: writes into the directories its code was loaded from.
  Type.Object({ ...Common, kind: Type.Literal('loaded-code-dir-write') }, { additionalProperties: false }),
  // A unit reading a shared-volume file that another function's unit wrote (volume-flow.ts).
  Type.Object({ ...Common, kind: Type.Literal('cross-function-volume') }, { additionalProperties: false }),
  // A unit loading code (a code file) that another invocation wrote.
  Type.Object({ ...Common, kind: Type.Literal('cross-invocation-code') }, { additionalProperties: false }),
  // Host detections (host-rules.ts).
  Type.Object({ ...Common, kind: Type.Literal('file-open'), paths: Globs }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('link-to'), paths: Globs }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('fileless-exec') }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('namespace-change') }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('raw-socket') }, { additionalProperties: false }),
  Type.Object({ ...Common, kind: Type.Literal('ptrace') }, { additionalProperties: false }),
  Type.Object(
    { ...Common, kind: Type.Literal('exec-env'), variables: Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), { minItems: 1, maxItems: 32 }) },
    { additionalProperties: false },
  ),
]);
const RulesFile = Type.Object({ rules: Type.Array(RuleSchema, { maxItems: 256 }) }, { additionalProperties: false });
export type RuleSpec = Static<typeof RuleSchema>;
const check = TypeCompiler.Compile(RulesFile);

/** A rule ready to match: globs compiled, allow-lists as a BlockList. */
export type Rule = RuleSpec & { match?: (path: string) => boolean; allowed?: (address: string) => boolean };

/**
 * What the rules ask the agent to capture beyond operations: failed opens of sensitive paths and
 * secrets, named exec variables, and where secrets are mounted (an instance's mounts there are its own).
 */
export function captureNeeds(rules: Rule[]): { attemptPaths: string[]; execEnv: string[]; secretRoots?: string[] } {
  const attemptPaths = new Set<string>();
  const execEnv = new Set<string>();
  const secretGlobs: string[] = [];
  for (const r of rules) {
    if (r.kind === 'file-open' || r.kind === 'secret-access') for (const p of r.paths) attemptPaths.add(p);
    if (r.kind === 'secret-access') secretGlobs.push(...r.paths);
    if (r.kind === 'exec-env') for (const v of r.variables) execEnv.add(v);
  }
  const out: { attemptPaths: string[]; execEnv: string[]; secretRoots?: string[] } = { attemptPaths: [...attemptPaths], execEnv: [...execEnv] };
  const roots = globPrefixes(secretGlobs).map((p) => p.replace(/\/+$/, '')).filter((p) => p.length > 1);
  if (roots.length > 0) out.secretRoots = roots;
  return out;
}

/** Shell-style globs over absolute paths (shared with the agent, which filters failed opens by them). */
export { globMatcher };

function allowList(cidrs: string[], file: string): (address: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const family = isIP(addr ?? '');
    const n = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (!family || !Number.isInteger(n) || n < 0 || n > (family === 6 ? 128 : 32)) throw RuleErrors.FP_ERR_BAD_RULES(file, `not a CIDR: ${JSON.stringify(c)}`);
    list.addSubnet(addr!, n, family === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    const family = isIP(address);
    if (!family) return true; // unix sockets and the like are local
    return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Parses and compiles a rules document; a bad one is refused whole, naming the first problem. */
export function compileRules(doc: unknown, file = 'rules'): Rule[] {
  const err = check.Errors(doc).First();
  if (err) throw RuleErrors.FP_ERR_BAD_RULES(file, `${err.path || '/'}: ${err.message}`);
  const rules = (doc as Static<typeof RulesFile>).rules;
  const ids = new Set<string>();
  return rules.map((r) => {
    if (ids.has(r.id)) throw RuleErrors.FP_ERR_BAD_RULES(file, `rule id ${r.id} given twice`);
    ids.add(r.id);
    if (r.kind === 'file-write' && r.except) {
      const [inside, outside] = [globMatcher(r.paths), globMatcher(r.except)];
      return { ...r, match: (path: string) => inside(path) && !outside(path) };
    }
    if (r.kind === 'file-write' || r.kind === 'file-read' || r.kind === 'file-open' || r.kind === 'link-to' || r.kind === 'secret-access') return { ...r, match: globMatcher(r.paths) };
    if (r.kind === 'connect-outside') return { ...r, allowed: allowList(r.allow, file) };
    return { ...r };
  });
}

export function loadRules(file: string): Rule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw RuleErrors.FP_ERR_BAD_RULES(file, (e as Error).message);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw RuleErrors.FP_ERR_BAD_RULES(file, `not JSON: ${(e as Error).message}`);
  }
  return compileRules(doc, file);
}

/** The rules faasprov ships (collector/rules/default.json). */
export const DEFAULT_RULES_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../rules/default.json');
