import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export default async function globalTeardown(): Promise<void> {
  if (process.env.FAASPROV_KEEP_SERVICES) return;
  // Only what global-setup started: services given through FAASPROV_TEST_* belong to whoever gave them.
  const neo4j = process.env.FAASPROV_STARTED_NEO4J;
  const nats = process.env.FAASPROV_STARTED_NATS;
  if (neo4j) execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', neo4j], { stdio: 'inherit' });
  if (nats) execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['stop', nats], { stdio: 'inherit' });
}
