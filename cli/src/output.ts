import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteGraphStore } from '@faasprov/store';
import { FaasprovError } from '@faasprov/model';

/** Writes a result to --out FILE, or to stderr so the traced command's stdout stays clean. */
export function emit(text: string, out: string | undefined, stream: NodeJS.WriteStream = process.stderr): void {
  if (out) writeFileSync(out, text);
  else stream.write(text);
}

export function fail(err: unknown, exitCode = 2): never {
  if (err instanceof FaasprovError) process.stderr.write(`faasprov: ${err.message} [${err.code}]\n`);
  else process.stderr.write(`faasprov: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(exitCode);
}

/** Opens (creating its folder) the embedded store, or exits with the store's error. */
export function openStore(file: string): SqliteGraphStore {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return new SqliteGraphStore(file);
  } catch (err) {
    fail(err);
  }
}
