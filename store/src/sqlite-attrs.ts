import type { GraphNode } from '@faasprov/model';
import { decodeId, encodeId, nodeTypeOf } from './sqlite-codec.js';

// A node's attributes in the SQLite store (schema 6) are one compact blob: per attribute one
// varint (key code × 8 + tag) and its value, integers as varints, lowercase hex (trace and span
// ids) as bytes, model ids as the codec's 18-21 bytes, UUIDs (call ids) as 16 bytes, common
// words (span kinds, statuses, the default tenant) as one (these three under Tag.Id, told apart by
// the payload's first byte). SQL reads an attribute through fp_attr(attrs, key), a function the
// store registers (attrValue).
// Schemas 4 and 5 kept the attributes SQL reads as JSON and wrote the others in this format.

/**
 * Codes of attribute names (on disk: never renumber or reuse one, only append). An attribute not
 * listed is written with its name (code 0), so a new model field needs no change here.
 */
const KEYS = [
  '', 'pid', 'processStart', 'end', 'tid', 'instance', 'source', 'appFunction', 'appTrigger', 'appColdStart', 'appStatus', 'appStart', 'appEnd',
  'appDuration', 'traceId', 'spanId', 'contradictions', 'parentSpanId', 'name', 'kind', 'status', 'statusMessage', 'service', 'invocation',
  'trigger', 'coldStart', 'httpMethod', 'httpTarget', 'httpStatus', 'unitSeen', 'argv', 'argvTruncated', 'exeTruncated', 'exitCode', 'uid',
  'euid', 'gid', 'egid', 'credChanged', 'nsChanged', 'nsFlags', 'traceme', 'env', 'envTruncated', 'pathTruncated', 'deleted', 'fileType',
  'linkTarget', 'removedAtInvocationEnd', 'tier', 'port', 'role', 'socketKind', 'agent', 'to', 'count', 'seq', 'detail', 'rootPid', 'mode',
  'cgroupId', 'cgroupPath', 'addresses', 'secrets', 'fd', 'opened', 'flow', 'server', 'client', 'matchInferred', 'summary', 'subject', 'object',
  'device', 'ptr', 'allocated', 'size', 'api', 'rc', 'freed', 'func', 'symbol',
  // Since schema 6 (JSON before).
  'tenant', 'function', 'path', 'address', 'exe', 'cause', 'callId', 'rule', 'start', 'version', 'from', 'created', 'time', 'severity', 'volume', 'node',
] as const;
const CODE = new Map<string, number>(KEYS.map((k, i) => [k, i]));

const enum Tag {
  False = 0,
  True = 1,
  Uint = 2,
  NegInt = 3,
  Text = 4,
  Hex = 5,
  Json = 6,
  Id = 7,
}

const MODEL_ID = /^[a-z]{1,4}_[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A Tag.Id payload that starts with this byte is a UUID (an encoded id starts with a-z or 0xff). */
const UUID_MARK = 0xfe;
/** ... and with this one, a word of WORDS (its index in the next byte). */
const WORD_MARK = 0xfd;
/** Values that come back on node after node: span kinds and statuses, triggers, methods, enums, the default tenant. On disk: only append. */
const WORDS = [
  'server', 'client', 'internal', 'producer', 'consumer', 'unset', 'ok', 'error', 'http', 'pubsub', 'timer', 'GET', 'POST', 'PUT', 'DELETE',
  'PATCH', 'HEAD', 'OPTIONS', 'shim', 'process-tree', 'toServer', 'toClient', 'ephemeral', 'durable', 'low', 'medium', 'high', 'critical',
  'openfaas-fn', 'openfaas', 'directory', 'symlink', 'hardlink', 'memfd', 'pipe', 'socketpair', 'raw', 'packet', 'gpu-server', '/',
] as const;
const WORD = new Map<string, number>(WORDS.map((w, i) => [w, i]));
const HEX = /^(?:[0-9a-f]{2})+$/;

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 128) {
      this.buf[this.n++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }

  bytes(b: Buffer): void {
    this.varint(b.length);
    this.room(b.length);
    b.copy(this.buf, this.n);
    this.n += b.length;
  }

  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.n));
  }
}

/** A node's attributes as stored (null when it has none). */
export function encodeAttrs(attrs: Record<string, unknown>): Buffer | null {
  const w = new Writer();
  let any = false;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    any = true;
    const code = CODE.get(k) ?? 0;
    const head = (tag: Tag) => {
      w.varint(code * 8 + tag);
      if (code === 0) w.bytes(Buffer.from(k, 'utf8'));
    };
    if (v === true || v === false) head(v ? Tag.True : Tag.False);
    else if (typeof v === 'number' && Number.isSafeInteger(v)) {
      head(v >= 0 ? Tag.Uint : Tag.NegInt);
      w.varint(Math.abs(v));
    } else if (typeof v === 'string' && MODEL_ID.test(v)) {
      head(Tag.Id);
      w.bytes(encodeId(v));
    } else if (typeof v === 'string' && WORD.has(v)) {
      head(Tag.Id);
      w.bytes(Buffer.of(WORD_MARK, WORD.get(v)!));
    } else if (typeof v === 'string' && UUID.test(v)) {
      head(Tag.Id);
      w.bytes(Buffer.concat([Buffer.of(UUID_MARK), Buffer.from(v.replaceAll('-', ''), 'hex')]));
    } else if (typeof v === 'string' && HEX.test(v)) {
      head(Tag.Hex);
      w.bytes(Buffer.from(v, 'hex'));
    } else if (typeof v === 'string') {
      head(Tag.Text);
      w.bytes(Buffer.from(v, 'utf8'));
    } else {
      head(Tag.Json);
      w.bytes(Buffer.from(JSON.stringify(v), 'utf8'));
    }
  }
  return any ? w.done() : null;
}

function uuid(b: Buffer): string {
  const h = b.toString('hex', 1);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The attributes in a stored blob (into: merged over what it holds). */
export function readAttrs(b: Buffer, into: Record<string, unknown> = {}): Record<string, unknown> {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      const byte = b[i++]!;
      v += (byte & 127) * scale;
      if (byte < 128) return v;
      scale *= 128;
    }
  };
  const bytes = (): Buffer => {
    const len = varint();
    const out = b.subarray(i, i + len);
    i += len;
    return out;
  };
  while (i < b.length) {
    const head = varint();
    const code = Math.floor(head / 8);
    const tag = head % 8;
    const key = code === 0 ? bytes().toString('utf8') : KEYS[code];
    if (key === undefined) throw new Error(`sqlite store: unknown attribute code ${code}`);
    switch (tag) {
      case Tag.False:
        into[key] = false;
        break;
      case Tag.True:
        into[key] = true;
        break;
      case Tag.Uint:
        into[key] = varint();
        break;
      case Tag.NegInt:
        into[key] = -varint();
        break;
      case Tag.Text:
        into[key] = bytes().toString('utf8');
        break;
      case Tag.Hex:
        into[key] = bytes().toString('hex');
        break;
      case Tag.Id: {
        const v = bytes();
        into[key] = v[0] === UUID_MARK ? uuid(v) : v[0] === WORD_MARK ? WORDS[v[1]!] : decodeId(v);
        break;
      }
      default:
        into[key] = JSON.parse(bytes().toString('utf8')) as unknown;
    }
  }
  return into;
}

/** An upsert's merge of two blobs: the new value of each attribute over the old (as json_patch does). */
export function patchAttrs(old: Buffer | null, next: Buffer | null): Buffer | null {
  if (!old) return next;
  if (!next) return old;
  return encodeAttrs(readAttrs(next, readAttrs(old)));
}

let last: { blob: Buffer; attrs: Record<string, unknown> } | undefined;

/** One attribute as SQL sees it (json_extract's types: booleans 1 and 0, arrays and objects as JSON text). */
export function attrValue(b: Buffer | null, key: string): string | number | null {
  if (!b) return null;
  // A query asks several attributes of one row in turn: decode it once.
  if (!last || !last.blob.equals(b)) last = { blob: Buffer.from(b), attrs: readAttrs(b) };
  const v = last.attrs[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A stored node row. */
export interface StoredNode {
  id: Buffer;
  type: number;
  attrs: Buffer | null;
}

export function toNode(r: StoredNode): GraphNode {
  return { ...(r.attrs ? readAttrs(r.attrs) : {}), id: decodeId(r.id), type: nodeTypeOf(r.type) } as GraphNode;
}
