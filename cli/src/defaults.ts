import { homedir } from 'node:os';
import { join } from 'node:path';

/** The store every command uses unless --store says otherwise. */
export function defaultStorePath(): string {
  if (process.env.FAASPROV_STORE) return process.env.FAASPROV_STORE;
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'faasprov', 'store.db');
}

export const DEFAULT_PORT = 7770;

/** Where the node agent keeps unacknowledged batches. */
export function defaultSpoolDir(): string {
  if (process.env.FAASPROV_SPOOL) return process.env.FAASPROV_SPOOL;
  return process.getuid?.() === 0 ? '/var/lib/faasprov/spool' : join(homedir(), '.local', 'state', 'faasprov', 'spool');
}
