/** Finds the of-watchdog and faas-cli binaries: an explicit path, else .tools/bin (make install), else PATH. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { FunctionsErrors } from '../errors.js';

// cli/dist/functions → the repository root, where scripts/ensure-openfaas.sh builds into .tools/bin.
const REPO_TOOLS = resolve(import.meta.dirname, '..', '..', '..', '.tools', 'bin');

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findTool(name: 'of-watchdog' | 'faas-cli', explicit?: string): string {
  if (explicit) {
    const p = resolve(explicit);
    if (!executable(p)) throw FunctionsErrors.FP_ERR_TOOL_MISSING(name, `${p} is not an executable file`);
    return p;
  }
  const candidates = [join(REPO_TOOLS, name), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name))];
  const found = candidates.find(executable);
  if (!found) throw FunctionsErrors.FP_ERR_TOOL_MISSING(name, 'run make deps (scripts/ensure-openfaas.sh), put it on PATH, or pass its path');
  return found;
}
