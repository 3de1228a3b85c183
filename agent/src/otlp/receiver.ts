import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AgentErrors } from '../errors.js';
import { decodeTraces, encodeResponse, OtlpDecodeError, type SpanRecord } from './decode.js';

/** The largest export request read (OTLP exporters batch 512 spans by default: far below this). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface OtlpReceiverOptions {
  host: string;
  port: number;
  /** Spans accepted into the agent; false when the agent's queue is full (the receiver counts them as refused). */
  accept(spans: SpanRecord[]): number;
  /** A request that could not be read at all (bad body, too big): its spans are lost. */
  onBadRequest?(why: string): void;
}

/** `--otlp` values: HOST:PORT, or off. */
export function parseOtlpAddress(v: string): { host: string; port: number } | undefined {
  if (v === 'off') return undefined;
  const m = /^(.+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw AgentErrors.FP_ERR_BAD_OTLP(v);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function kind(req: IncomingMessage): 'protobuf' | 'json' | undefined {
  const t = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return t === 'application/x-protobuf' ? 'protobuf' : t === 'application/json' ? 'json' : undefined;
}

/**
 * The node-local OTLP/HTTP trace receiver (POST /v1/traces, protobuf or JSON, gzip not
 * supported: the templates send plain bodies). Answers as the OTLP spec says: 200 with a
 * partial success naming refused spans, 400 for an unreadable body, 413, 415, 404.
 */
export class OtlpReceiver {
  private server: Server | undefined;
  url: string | undefined;

  constructor(private readonly opts: OtlpReceiverOptions) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const a = this.server.address() as { address: string; port: number };
    this.url = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/v1/traces`;
  }

  private reply(res: ServerResponse, status: number, type: 'protobuf' | 'json', body: Buffer): void {
    res.writeHead(status, { 'content-type': type === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': body.length });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url?.split('?')[0] !== '/v1/traces') return void res.writeHead(404).end();
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const type = kind(req);
    if (!type) {
      req.resume();
      return void res.writeHead(415).end('application/x-protobuf or application/json');
    }
    if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
      req.resume();
      this.opts.onBadRequest?.(`content-encoding ${req.headers['content-encoding']}`);
      return void res.writeHead(415).end('content-encoding is not supported');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          this.opts.onBadRequest?.(`a request over ${MAX_BODY_BYTES} bytes`);
          res.writeHead(413, { connection: 'close' }).end();
          req.destroy();
          return;
        }
        chunks.push(c);
      }
    } catch {
      return; // the client went away
    }
    let decoded;
    try {
      decoded = decodeTraces(Buffer.concat(chunks), type);
    } catch (err) {
      const why = err instanceof OtlpDecodeError ? err.message : String(err);
      this.opts.onBadRequest?.(`unreadable request: ${why}`);
      return this.reply(res, 400, type, Buffer.from(type === 'json' ? JSON.stringify({ message: why.slice(0, 200) }) : ''));
    }
    const taken = this.opts.accept(decoded.spans);
    const refused = decoded.rejected + (decoded.spans.length - taken);
    const why = decoded.rejected > 0 ? 'spans with invalid ids' : 'the agent is over its span queue limit';
    this.reply(res, 200, type, encodeResponse(type, refused, refused > 0 ? why : undefined));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
