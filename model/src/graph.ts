import { Type, type Static } from '@sinclair/typebox';
import { hashId } from './ids.js';

// Bounds keep a hostile or broken agent from storing unbounded strings.
export const MAX_PATH = 4096;
export const MAX_ARGV = 256;
export const MAX_STR = 4096;

const Id = Type.String({ minLength: 3, maxLength: 80, pattern: '^[a-z]{1,4}_[0-9a-f]{32}$' });
const NodeName = Type.String({ minLength: 1, maxLength: 253 });
/** A tenant is an OpenFaaS namespace (a Kubernetes namespace name). */
export const Tenant = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });
/** Times are integer microseconds since the Unix epoch. */
const Time = Type.Integer({ minimum: 0 });

export const ProcessNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Process'),
    node: NodeName,
    pid: Type.Integer({ minimum: 0, maximum: 4194304 }),
    start: Time,
    exe: Type.String({ maxLength: MAX_PATH }),
    argv: Type.Array(Type.String({ maxLength: MAX_STR }), { maxItems: MAX_ARGV }),
    argvTruncated: Type.Optional(Type.Boolean()),
    exeTruncated: Type.Optional(Type.Boolean()),
    end: Type.Optional(Time),
    exitCode: Type.Optional(Type.Integer()),
    uid: Type.Optional(Type.Integer({ minimum: 0 })),
    euid: Type.Optional(Type.Integer({ minimum: 0 })),
    gid: Type.Optional(Type.Integer({ minimum: 0 })),
    egid: Type.Optional(Type.Integer({ minimum: 0 })),
    /** When the process last changed its credentials (set*id). */
    credChanged: Type.Optional(Time),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

export const FileNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('File'),
    node: NodeName,
    path: Type.String({ minLength: 1, maxLength: MAX_PATH }),
    /** 0: the content found before capture; otherwise the time (µs) of the write that made it. */
    version: Type.Integer({ minimum: 0 }),
    pathTruncated: Type.Optional(Type.Boolean()),
    deleted: Type.Optional(Time),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

export const EndpointNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Endpoint'),
    /** An IP address, or unix:PATH for a unix socket (unix:@ when abstract or unnamed). */
    address: Type.String({ minLength: 1, maxLength: MAX_PATH + 5 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** Set only for loopback addresses, which mean a different host on each node. */
    node: Type.Optional(NodeName),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

export const GapNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Gap'),
    agent: Type.String({ minLength: 1, maxLength: 128 }),
    cause: Type.String({ minLength: 1, maxLength: 64 }),
    from: Time,
    to: Time,
    count: Type.Integer({ minimum: 0 }),
    /** Tells apart two gaps of one agent and cause that start at the same time. */
    seq: Type.Integer({ minimum: 0 }),
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

/** A function instance: a container, or locally a process tree rooted at a watchdog (a PROV Agent). */
export const InstanceNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Instance'),
    node: NodeName,
    rootPid: Type.Integer({ minimum: 0, maximum: 4194304 }),
    start: Time,
    mode: Type.String({ maxLength: 32 }),
    cgroupId: Type.Optional(Type.String({ maxLength: 32, pattern: '^[0-9]+$' })),
    cgroupPath: Type.Optional(Type.String({ maxLength: MAX_PATH })),
    function: Type.Optional(Type.String({ maxLength: 253 })),
    exe: Type.Optional(Type.String({ maxLength: MAX_PATH })),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

/** A pipe or socketpair: a stream between processes, identified by who made it and when. */
export const PipeNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Pipe'),
    node: NodeName,
    kind: Type.Union([Type.Literal('pipe'), Type.Literal('socketpair')]),
    pid: Type.Integer({ minimum: 0, maximum: 4194304 }),
    created: Time,
    /** The lower fd of the pair at creation, which tells apart two pipes made in one µs. */
    fd: Type.Integer({ minimum: 0 }),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

export type ProcessNode = Static<typeof ProcessNode>;
export type InstanceNode = Static<typeof InstanceNode>;
export type PipeNode = Static<typeof PipeNode>;
export type FileNode = Static<typeof FileNode>;
export type EndpointNode = Static<typeof EndpointNode>;
export type GapNode = Static<typeof GapNode>;
export type GraphNode = ProcessNode | FileNode | EndpointNode | GapNode | InstanceNode | PipeNode;
export type NodeType = GraphNode['type'];

export const NODE_SCHEMAS = {
  Process: ProcessNode,
  File: FileNode,
  Endpoint: EndpointNode,
  Gap: GapNode,
  Instance: InstanceNode,
  Pipe: PipeNode,
} as const;
export const NODE_TYPES = Object.keys(NODE_SCHEMAS) as NodeType[];

export const EDGE_TYPES = [
  'USED',
  'WAS_GENERATED_BY',
  'WAS_INFORMED_BY',
  'WAS_INVALIDATED_BY',
  'WAS_ASSOCIATED_WITH',
  'WAS_ATTRIBUTED_TO',
] as const;
export type EdgeType = (typeof EDGE_TYPES)[number];

export const GraphEdge = Type.Object(
  {
    id: Id,
    type: Type.Union(EDGE_TYPES.map((t) => Type.Literal(t))),
    from: Id,
    to: Id,
    firstTime: Time,
    lastTime: Time,
    count: Type.Integer({ minimum: 1 }),
    bytes: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type GraphEdge = Static<typeof GraphEdge>;

export interface SerializedGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const ACTIVITIES: ReadonlySet<NodeType> = new Set(['Process']);
const ENTITIES: ReadonlySet<NodeType> = new Set(['File', 'Endpoint', 'Gap', 'Pipe']);
const AGENTS: ReadonlySet<NodeType> = new Set(['Instance']);

/** W3C PROV direction rules: which node types an edge type may join. */
export function edgeKindError(type: EdgeType, from: NodeType, to: NodeType): string | undefined {
  const ok =
    (type === 'USED' && ACTIVITIES.has(from) && ENTITIES.has(to)) ||
    ((type === 'WAS_GENERATED_BY' || type === 'WAS_INVALIDATED_BY') && ENTITIES.has(from) && ACTIVITIES.has(to)) ||
    (type === 'WAS_INFORMED_BY' && ACTIVITIES.has(from) && ACTIVITIES.has(to)) ||
    (type === 'WAS_ASSOCIATED_WITH' && ACTIVITIES.has(from) && AGENTS.has(to)) ||
    (type === 'WAS_ATTRIBUTED_TO' && ENTITIES.has(from) && AGENTS.has(to));
  return ok ? undefined : `${type} cannot join ${from} to ${to}`;
}

const PREFIX: Record<NodeType, string> = { Process: 'p', File: 'f', Endpoint: 'ep', Gap: 'gap', Instance: 'i', Pipe: 'pp' };

export function processId(node: string, pid: number, start: number): string {
  return hashId(PREFIX.Process, ['Process', node, pid, start]);
}
export function fileId(node: string, path: string, version: number): string {
  return hashId(PREFIX.File, ['File', node, path, version]);
}
export function endpointId(address: string, port: number, node?: string): string {
  return hashId(PREFIX.Endpoint, ['Endpoint', address, port, node ?? '']);
}
export function gapId(agent: string, cause: string, from: number, seq: number): string {
  return hashId(PREFIX.Gap, ['Gap', agent, cause, from, seq]);
}
export function instanceId(node: string, rootPid: number, start: number): string {
  return hashId(PREFIX.Instance, ['Instance', node, rootPid, start]);
}
export function pipeId(node: string, pid: number, created: number, fd: number): string {
  return hashId(PREFIX.Pipe, ['Pipe', node, pid, created, fd]);
}
export function edgeId(type: EdgeType, from: string, to: string): string {
  return hashId('e', [type, from, to]);
}

/** The id a node must have, computed from its natural key. */
export function expectedNodeId(n: GraphNode): string {
  switch (n.type) {
    case 'Process':
      return processId(n.node, n.pid, n.start);
    case 'File':
      return fileId(n.node, n.path, n.version);
    case 'Endpoint':
      return endpointId(n.address, n.port, n.node);
    case 'Gap':
      return gapId(n.agent, n.cause, n.from, n.seq);
    case 'Instance':
      return instanceId(n.node, n.rootPid, n.start);
    case 'Pipe':
      return pipeId(n.node, n.pid, n.created, n.fd);
  }
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
