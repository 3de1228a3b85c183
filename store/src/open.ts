import type { GraphStore } from './graph-store.js';
import { SqliteGraphStore } from './sqlite-store.js';
import { Neo4jGraphStore } from './neo4j-store.js';
import { StoreErrors } from './errors.js';

/**
 * Opens the store a --store value names: neo4j://, neo4j+s://, bolt:// or bolt+s:// URLs
 * (credentials in the URL, or NEO4J_USER / NEO4J_PASSWORD), sqlite:FILE, or a plain FILE.
 */
/** Whether a --store value is a URL (a server) rather than a file. */
export function isStoreUrl(spec: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(spec);
}

/** The file of an embedded-store --store value (FILE or sqlite:FILE). */
export function storeFile(spec: string): string {
  return spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
}

export async function openGraphStore(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<GraphStore> {
  if (/^(neo4j|bolt)(\+s|\+ssc)?:\/\//.test(spec)) {
    let u: URL;
    try {
      u = new URL(spec);
    } catch {
      throw StoreErrors.FP_ERR_STORE_SPEC(spec.replace(/:[^:@/]*@/, ':***@'), 'not a URL');
    }
    const user = decodeURIComponent(u.username) || env.NEO4J_USER || 'neo4j';
    const password = decodeURIComponent(u.password) || env.NEO4J_PASSWORD || '';
    const database = u.pathname.replace(/^\//, '') || env.NEO4J_DATABASE || undefined;
    u.username = '';
    u.password = '';
    u.pathname = '';
    return Neo4jGraphStore.open({ url: u.toString().replace(/\/$/, ''), user, password, database });
  }
  if (isStoreUrl(spec)) throw StoreErrors.FP_ERR_STORE_SPEC(spec, 'unknown scheme (use neo4j://, bolt:// or sqlite:FILE)');
  const file = storeFile(spec);
  if (file === '') throw StoreErrors.FP_ERR_STORE_SPEC(spec, 'no file');
  return new SqliteGraphStore(file);
}

/** What a --store value points at, for messages (never the password). */
export function describeStore(spec: string): string {
  return spec.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
