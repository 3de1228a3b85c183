import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isStoreUrl, openGraphStore, storeFile, type GraphStore } from '@faasprov/store';
import { FaasprovError } from '@faasprov/model';

/**
 * Exits once what was written to stdout and stderr has been handed to them: process.exit alone
 * drops what a pipe has not taken yet (`faasprov trace ID --format json | jq` lost all but 64 KiB).
 */
export async function exitFlushed(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
  process.exit(code);
}

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
