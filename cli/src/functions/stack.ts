/** A faas-cli stack file (stack.yaml), the parts a local run needs. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { FunctionsErrors } from '../errors.js';

export interface StackFunction {
  name: string;
  lang: string;
  handler: string;
  /** OpenFaaS's default namespace for functions is openfaas-fn. */
  namespace: string;
  /** environment: and every environment_file's environment:, in the order faas-cli merges them. */
  environment: Record<string, string>;
  /** secrets: names; functions up mounts `.secrets/NAME` beside the stack at /var/openfaas/secrets/NAME (as faas-cli local-run). */
  secrets: string[];
}

export interface Stack {
  file: string;
  dir: string;
  functions: StackFunction[];
}

// Kubernetes DNS-1123 labels, as faas-cli and faas-netes require of function names.
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function envMap(file: string, where: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `${where} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `${where}: bad variable name ${JSON.stringify(k)}`);
    if (isRecord(val) || Array.isArray(val)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `${where}.${k} must be a scalar`);
    out[k] = val === null || val === undefined ? '' : String(val);
  }
  return out;
}

/** Reads and checks a stack file; nothing is started or written. */
export function loadStack(path: string): Stack {
  const file = resolve(path);
  if (!existsSync(file)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, 'no such file');
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(doc) || !isRecord(doc.functions) || Object.keys(doc.functions).length === 0) {
    throw FunctionsErrors.FP_ERR_STACK_INVALID(file, 'needs a functions: map with at least one function');
  }
  const dir = dirname(file);
  const functions: StackFunction[] = [];
  for (const [name, spec] of Object.entries(doc.functions)) {
    if (!NAME.test(name)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `function name ${JSON.stringify(name)} is not a DNS-1123 label`);
    if (!isRecord(spec)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name} must be a map`);
    const { lang, handler } = spec;
    if (typeof lang !== 'string' || lang === '') throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.lang is required`);
    if (typeof handler !== 'string' || handler === '') throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.handler is required`);
    const namespace = spec.namespace === undefined ? 'openfaas-fn' : String(spec.namespace);
    if (!NAME.test(namespace)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.namespace is not a DNS-1123 label`);
    const environment: Record<string, string> = {};
    const files = spec.environment_file === undefined ? [] : spec.environment_file;
    if (!Array.isArray(files)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.environment_file must be a list`);
    for (const f of files) {
      const p = isAbsolute(String(f)) ? String(f) : join(dir, String(f));
      if (!existsSync(p)) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.environment_file ${f}: no such file`);
      const e = parse(readFileSync(p, 'utf8')) as unknown;
      Object.assign(environment, envMap(p, 'environment', isRecord(e) ? e.environment : undefined));
    }
    Object.assign(environment, envMap(file, `functions.${name}.environment`, spec.environment));
    const secrets = spec.secrets === undefined ? [] : spec.secrets;
    if (!Array.isArray(secrets) || !secrets.every((x) => typeof x === 'string' && NAME.test(x))) {
      throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.secrets must be a list of DNS-1123 names`);
    }
    for (const x of secrets as string[]) {
      if (!existsSync(join(dir, '.secrets', x))) throw FunctionsErrors.FP_ERR_STACK_INVALID(file, `functions.${name}.secrets: ${join(dir, '.secrets', x)} is missing`);
    }
    functions.push({ name, lang, handler, namespace, environment, secrets: secrets as string[] });
  }
  return { file, dir, functions };
}
