import { defineError } from '@faasprov/model';

export const StoreErrors = {
  FP_ERR_STORE_OPEN: defineError('FP_ERR_STORE_OPEN', (file, why) => `cannot open the store ${file}: ${why}`, 500),
  FP_ERR_STORE_SCHEMA: defineError(
    'FP_ERR_STORE_SCHEMA',
    (file, found, want) => `store ${file} has schema version ${found}; this faasprov needs ${want}`,
    500,
  ),
} as const;
