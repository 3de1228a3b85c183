import { defineError } from '@faasprov/model';

/** Error catalog of the graph service. Codes are stable; retired codes stay listed. */
export const GraphErrors = {
  FP_ERR_UNKNOWN_NODE: defineError('FP_ERR_UNKNOWN_NODE', (id) => `no node with id ${id}`, 404),
  FP_ERR_BAD_OPTION: defineError('FP_ERR_BAD_OPTION', (fn, what) => `${fn}: ${what}`, 400),
  FP_ERR_BAD_REQUEST: defineError('FP_ERR_BAD_REQUEST', (what) => what, 400),
} as const;
