import { captureRequirements, checkCaptureTools, checkTool, natsServerInfo, type Requirement } from '@faasprov/agent';
import { isStoreUrl, openGraphStore, sqliteRuntime } from '@faasprov/store';

export interface DoctorOptions {
  bpftrace?: string;
  store?: string;
  nats?: string;
}

const MIN_NODE_MAJOR = 22;

function nodeRequirement(): Requirement {
  const major = Number(process.versions.node.split('.')[0]);
  const found = `${process.version} (${process.execPath})`;
  return major >= MIN_NODE_MAJOR
    ? { name: 'Node.js', ok: true, found, required: true }
    : { name: 'Node.js', ok: false, found, required: true, fix: `faasprov needs Node ${MIN_NODE_MAJOR} or newer: scripts/ensure-node.sh provisions Node 24 into .tools/node` };
}

function sqliteRequirement(): Requirement {
  try {
    const v = sqliteRuntime();
    return { name: 'better-sqlite3', ok: true, found: `${v.betterSqlite3} (SQLite ${v.sqlite})`, required: true };
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    return { name: 'better-sqlite3', ok: false, found: `does not load: ${why}`, required: true, fix: 'npm ci in the faasprov checkout builds it for this Node (make deps)' };
  }
}

async function neo4jRequirement(spec: string | undefined): Promise<Requirement> {
  if (!spec || !isStoreUrl(spec)) return { name: 'Neo4j', ok: true, found: 'not configured (the store is a file)', required: false };
  const shown = spec.replace(/:[^:@/]*@/, ':***@');
  try {
    const store = await openGraphStore(spec);
    await store.close();
    return { name: 'Neo4j', ok: true, found: `${shown} answers`, required: true };
  } catch (err) {
    return { name: 'Neo4j', ok: false, found: `${shown}: ${(err as Error).message}`, required: true, fix: 'start it (scripts/neo4j.sh start, or make neo4j) or give --store FILE' };
  }
}

async function natsRequirement(url: string | undefined): Promise<Requirement> {
  if (!url) return { name: 'NATS', ok: true, found: 'not configured (--nats URL to check one)', required: false };
  try {
    const info = await natsServerInfo(url);
    if (!info.jetstream) return { name: 'NATS', ok: false, found: `${url}: nats-server ${info.version} without JetStream`, required: true, fix: 'run nats-server with -js (scripts/nats.sh does)' };
    return { name: 'NATS', ok: true, found: `${url}: nats-server ${info.version}, JetStream`, required: true };
  } catch (err) {
    return { name: 'NATS', ok: false, found: `${url}: ${(err as Error).message}`, required: true, fix: 'start it (scripts/nats.sh start, or make nats)' };
  }
}

/** faasprov doctor: every requirement with what was found; exit 1 when one that is needed is missing. */
export async function doctorCommand(o: DoctorOptions): Promise<number> {
  const capture = await captureRequirements({ bpftrace: o.bpftrace, all: true });
  const rows: Requirement[] = [
    ...capture,
    nodeRequirement(),
    sqliteRequirement(),
    await neo4jRequirement(o.store),
    await natsRequirement(o.nats),
    await checkTool('Graphviz', 'dot', ['-V'], 'graphviz (apt-get install graphviz): --format svg|png and the PNG export'),
    ...(await checkCaptureTools()),
  ];
  const width = Math.max(...rows.map((r) => r.name.length));
  const out: string[] = [];
  for (const r of rows) {
    const mark = r.ok ? 'ok     ' : r.required ? 'MISSING' : 'absent ';
    out.push(`  ${mark}  ${r.name.padEnd(width)}  ${r.found}`);
    if (!r.ok) {
      const fix = r.error ? `${r.error.message} [${r.error.code}]` : r.fix;
      if (fix) out.push(`  ${' '.repeat(7)}  ${' '.repeat(width)}  ${fix}`);
    }
  }
  const missing = rows.filter((r) => !r.ok && r.required);
  const captureMissing = capture.filter((r) => !r.ok);
  out.push(
    captureMissing.length === 0
      ? 'capture: ready'
      : `capture: not ready (${captureMissing.map((r) => r.name).join(', ')}): faasprov run and agent refuse to start with the message above`,
  );
  process.stdout.write(`faasprov doctor\n${out.join('\n')}\n`);
  return missing.length === 0 ? 0 : 1;
}
