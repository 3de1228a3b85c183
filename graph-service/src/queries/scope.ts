import type { TenantScope } from '@faasprov/model';
import { GraphErrors } from '../errors.js';

/**
 * Deny by default: every query needs the scope that authentication established. A missing one
 * is an error, never every tenant (a route outside the authenticating plugin must not read).
 */
export function requireScope(scope: TenantScope | null | undefined, fn: string): TenantScope {
  if (!scope || (scope.all !== true && !(scope.tenants instanceof Set))) throw GraphErrors.FP_ERR_NO_SCOPE(fn);
  return scope;
}

/** The tenant list a store filter takes: undefined for every tenant. */
export function tenantFilter(scope: TenantScope): string[] | undefined {
  return scope.all ? undefined : [...scope.tenants];
}
