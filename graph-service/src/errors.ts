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
} as const;
