import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export default async function globalTeardown(): Promise<void> {
  if (process.env.FAASPROV_KEEP_SERVICES) return;
  execFileSync(join(ROOT, 'scripts', 'neo4j.sh'), ['stop', '17687'], { stdio: 'inherit' });
  execFileSync(join(ROOT, 'scripts', 'nats.sh'), ['stop', '14222'], { stdio: 'inherit' });
}
