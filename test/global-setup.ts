import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

// The real services the tests use, started by the project's own scripts (idempotent).
const ROOT = resolve(import.meta.dirname, '..');
export const NEO4J_TEST_PORT = '17687';
export const NATS_TEST_PORT = '14222';

export default async function globalSetup(): Promise<void> {
  process.env.NEO4J_PASSWORD ??= 'faasprov-test-password';
  if (!process.env.FAASPROV_TEST_NEO4J) {
    const url = execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['start', NEO4J_TEST_PORT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600000 }).trim();
    process.env.FAASPROV_TEST_NEO4J = url;
    process.env.FAASPROV_STARTED_NEO4J = NEO4J_TEST_PORT;
  }
  if (!process.env.FAASPROV_TEST_NATS) {
    const url = execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['start', NATS_TEST_PORT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300000 }).trim();
    process.env.FAASPROV_TEST_NATS = url;
    process.env.FAASPROV_STARTED_NATS = NATS_TEST_PORT;
  }
}
