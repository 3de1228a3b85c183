import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@faasprov/graph-service';
import { isStoreUrl, storeFile, type GraphStore } from '@faasprov/store';
import { fail, openStore } from './output.js';

export interface ApiTarget {
  /** A faasprov graph service (faasprov up); without it, the store is opened here. */
  server?: string;
  key?: string;
  store: string;
}

/** What a paged listing asks for: the query string every list route understands. */
export function listParams(o: { limit: number; offset: number; function?: string; since?: number; until?: number }): URLSearchParams {
  const q = new URLSearchParams({ limit: String(o.limit), offset: String(o.offset) });
  if (o.function) q.set('function', o.function);
  if (o.since !== undefined) q.set('since', String(o.since));
  if (o.until !== undefined) q.set('until', String(o.until));
  return q;
}

export interface ApiResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * The CLI asks every question through the query API: over HTTP with --server, or in-process
 * (the same routes, schemas and checks, answered by a server that never listens) on a local store.
 */
export class ApiClient {
  private app: FastifyInstance | undefined;
  private store: GraphStore | undefined;

  constructor(private readonly t: ApiTarget) {}

  async get(path: string): Promise<ApiResponse> {
    if (this.t.server) {
      let res: Response;
      try {
        res = await fetch(new URL(path, this.t.server), { headers: this.t.key ? { authorization: `Bearer ${this.t.key}` } : {} });
      } catch (err) {
        fail(new Error(`cannot reach ${this.t.server}: ${(err as Error).message}`));
      }
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
    }
    if (!this.app) {
      const file = storeFile(this.t.store);
      if (!isStoreUrl(this.t.store) && !existsSync(file)) {
        fail(new Error(`no store at ${file} (set --store or FAASPROV_STORE, or ask a server with --server)`));
      }
      this.store = await openStore(this.t.store);
      this.app = await buildServer({ store: this.store, collector: false });
    }
    const r = await this.app.inject({ method: 'GET', url: path });
    return { status: r.statusCode, contentType: String(r.headers['content-type'] ?? ''), body: r.rawPayload };
  }

  /** The JSON body of a 2xx answer, or exit with the API's error. */
  async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status >= 400) this.failWith(r);
    return JSON.parse(r.body.toString('utf8')) as T;
  }

  failWith(r: ApiResponse): never {
    let msg = `HTTP ${r.status}`;
    try {
      const e = JSON.parse(r.body.toString('utf8')) as { code?: string; message?: string };
      if (e.message) msg = `${e.message}${e.code ? ` [${e.code}]` : ''}`;
    } catch {
      /* not JSON */
    }
    fail(new Error(msg));
  }

  async close(): Promise<void> {
    await this.app?.close();
    await this.store?.close();
  }
}
