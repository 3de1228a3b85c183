import { defineError } from '@faasprov/model';

/** Error catalog of the graph service. Codes are stable; retired codes stay listed. */
export const GraphErrors = {
  FP_ERR_UNKNOWN_NODE: defineError('FP_ERR_UNKNOWN_NODE', (id) => `no node with id ${id}`, 404),
  FP_ERR_BAD_OPTION: defineError('FP_ERR_BAD_OPTION', (fn, what) => `${fn}: ${what}`, 400),
  FP_ERR_NO_PATH: defineError('FP_ERR_NO_PATH', (from, to) => `no time-respecting path from ${from} to ${to} within the depth limit`, 404),
  FP_ERR_NOT_SUPPORTED: defineError('FP_ERR_NOT_SUPPORTED', (what) => `${what} is not supported by this store`, 501),
  FP_ERR_BAD_REQUEST: defineError('FP_ERR_BAD_REQUEST', (what) => what, 400),
  FP_ERR_UNKNOWN_INVOCATION: defineError('FP_ERR_UNKNOWN_INVOCATION', (id) => `no invocation with call id ${id}`, 404),
  FP_ERR_NO_GRAPHVIZ: defineError('FP_ERR_NO_GRAPHVIZ', (format, why) => `${format} needs Graphviz: ${why}`, 501),
  FP_ERR_INTERNAL: defineError('FP_ERR_INTERNAL', () => 'internal error', 500),
  FP_ERR_RATE_LIMITED: defineError('FP_ERR_RATE_LIMITED', (max, after) => `more than ${max} requests a minute from this key or address; retry in ${after}`, 429),
  FP_ERR_NO_SCOPE: defineError('FP_ERR_NO_SCOPE', (fn) => `${fn}: no tenant scope was established for this request`, 403),
  FP_ERR_CYPHER_REFUSED: defineError('FP_ERR_CYPHER_REFUSED', (why) => `cypher refused: ${why}`, 403),
  FP_ERR_CYPHER_TIMEOUT: defineError('FP_ERR_CYPHER_TIMEOUT', (s) => `cypher: the query ran past its ${s} s timeout and was terminated`, 408),
  FP_ERR_CYPHER_TOO_LARGE: defineError('FP_ERR_CYPHER_TOO_LARGE', (what) => `cypher answer too large: ${what}`, 413),
} as const;
