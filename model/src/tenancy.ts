import type { GraphNode, NodeType } from './graph.js';

/** Who may see what: every tenant, or these tenants' nodes and shared entities. */
export type TenantScope = { all: true } | { all: false; tenants: ReadonlySet<string> };

export const ALL_TENANTS: TenantScope = { all: true };

/**
 * Entities no tenant made (the node's own files, remote endpoints, gaps, GPU memory found before
 * capture) are shared; one marked tenantUnknown (its maker's tenant could not be read) is not.
 */
export const SHARED_TYPES: readonly NodeType[] = ['File', 'Endpoint', 'Gap', 'GpuBuffer'];

/**
 * full: the node is the scope's own (or shared) and may be shown and expanded; boundary: it
 * belongs to another tenant (or to no tenant, for activities): shown redacted, never expanded.
 */
export function visibility(n: GraphNode, scope: TenantScope): 'full' | 'boundary' {
  if (scope.all) return 'full';
  const { tenant, tenantUnknown } = n as { tenant?: string; tenantUnknown?: boolean };
  if (tenant !== undefined) return scope.tenants.has(tenant) ? 'full' : 'boundary';
  // Made by an instance whose tenant could not be read: not shared, whoever made it (deny by default).
  if (tenantUnknown) return 'boundary';
  return SHARED_TYPES.includes(n.type) ? 'full' : 'boundary';
}

/** A boundary node: its id and type, nothing else. */
export function redact(n: GraphNode): GraphNode {
  return { id: n.id, type: n.type, redacted: true } as unknown as GraphNode;
}
