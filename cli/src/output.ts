import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isStoreUrl, openGraphStore, storeFile, type GraphStore } from '@faasprov/store';
import { FaasprovError } from '@faasprov/model';

export function fail(err: unknown, exitCode = 2): never {
  if (err instanceof FaasprovError) process.stderr.write(`faasprov: ${err.message} [${err.code}]\n`);
  else process.stderr.write(`faasprov: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(exitCode);
}

/** Opens the store a --store value names (a file, sqlite:FILE or a Neo4j URL), or exits with its error. */
export async function openStore(spec: string): Promise<GraphStore> {
  try {
    if (!isStoreUrl(spec)) mkdirSync(dirname(storeFile(spec)), { recursive: true });
    return await openGraphStore(spec);
  } catch (err) {
    fail(err);
  }
}
