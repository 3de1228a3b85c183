/** Error catalog of the model workspace. Codes are stable; retired codes stay listed. */
export interface FaasprovErrorInfo {
  code: string;
  message: string;
  statusCode?: number;
}

export class FaasprovError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly details: unknown;
  constructor(code: string, message: string, statusCode?: number, details?: unknown) {
    super(message);
    this.name = 'FaasprovError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
  }
}

type Formatter = (...args: string[]) => string;

/** Makes an error factory with a stable code, like fastify's createError. */
export function defineError(code: string, format: Formatter, statusCode?: number) {
  const make = (...args: string[]) => new FaasprovError(code, format(...args), statusCode);
  return Object.assign(make, { code, statusCode });
}

export const ModelErrors = {
  FP_ERR_BATCH_INVALID: defineError('FP_ERR_BATCH_INVALID', (where, what) => `invalid batch: ${where}: ${what}`, 400),
  FP_ERR_ID_MISMATCH: defineError('FP_ERR_ID_MISMATCH', (where) => `invalid batch: ${where}: id does not match the natural key`, 400),
  FP_ERR_DANGLING_EDGE: defineError('FP_ERR_DANGLING_EDGE', (where, id) => `invalid batch: ${where}: endpoint ${id} is not a node of this batch`, 400),
  FP_ERR_EDGE_KIND: defineError('FP_ERR_EDGE_KIND', (where, what) => `invalid batch: ${where}: ${what}`, 400),
  FP_ERR_BATCH_FORGED: defineError('FP_ERR_BATCH_FORGED', (where, what) => `forged batch: ${where}: ${what}`, 422),
} as const;
