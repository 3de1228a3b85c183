import { defineError } from '@faasprov/model';

export const StoreErrors = {
  FP_ERR_STORE_OPEN: defineError('FP_ERR_STORE_OPEN', (file, why) => `cannot open the store ${file}: ${why}`, 500),
  FP_ERR_STORE_SCHEMA: defineError(
    'FP_ERR_STORE_SCHEMA',
    (file, found, want) => `store ${file} has schema version ${found}; this faasprov needs ${want}`,
    500,
  ),
  FP_ERR_NEO4J_UNREACHABLE: defineError('FP_ERR_NEO4J_UNREACHABLE', (url, why) => `cannot reach Neo4j at ${url}: ${why}`, 503),
  FP_ERR_NEO4J_AUTH: defineError('FP_ERR_NEO4J_AUTH', (url, user) => `Neo4j at ${url} refused the credentials of user ${user} (set NEO4J_USER / NEO4J_PASSWORD or put them in the URL)`, 503),
  FP_ERR_STORE_LOAD: defineError('FP_ERR_STORE_LOAD', (store, why) => `cannot bulk-load ${store}: ${why}`, 409),
  FP_ERR_STORE_DANGLING: defineError('FP_ERR_STORE_DANGLING', (edge, id) => `cannot store edge ${edge}: its endpoint ${id} is a node neither of its batch nor of the store`, 500),
  FP_ERR_STORE_EXPAND_TYPE: defineError('FP_ERR_STORE_EXPAND_TYPE', (what, t) => `cannot expand over ${what} type ${t}: no such type`, 500),
  FP_ERR_STORE_SPEC: defineError('FP_ERR_STORE_SPEC', (spec, why) => `bad --store ${spec}: ${why}`, 400),
} as const;
