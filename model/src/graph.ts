import { Type, type Static } from '@sinclair/typebox';
import { hashId, hashIdOnce } from './ids.js';

// Bounds keep a hostile or broken agent from storing unbounded strings.
export const MAX_PATH = 4096;
export const MAX_ARGV = 256;
export const MAX_STR = 4096;
/** At most this many named environment variables are kept per exec, each value cut to this length. */
export const MAX_ENV_VARS = 32;
export const MAX_ENV_VALUE = 512;

const Id = Type.String({ minLength: 3, maxLength: 80, pattern: '^[a-z]{1,4}_[0-9a-f]{32}$' });
const NodeName = Type.String({ minLength: 1, maxLength: 253 });
/** A tenant is an OpenFaaS namespace (a Kubernetes namespace name). */
export const Tenant = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });
/**
 * Made by an instance whose tenant could not be read (Instance.factsUnread): deny by default, so
 * only a key for every tenant sees it (model/tenancy.ts), never a tenant as a shared entity.
 */
const TenantUnknown = Type.Optional(Type.Literal(true));
/**
 * Every integer a batch carries stays exact in a JavaScript number and a Neo4j integer, and every
 * time is a date (µs up to 2^53 is the year 2255): a hostile 1e20 is refused at ingest.
 */
export const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Times are integer microseconds since the Unix epoch. */
const Time = Type.Integer({ minimum: 0, maximum: MAX_INT });
/** An F3 volume id: what configuration or the mount table names it. */
export const VolumeId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$' });
const Pid = Type.Integer({ minimum: 0, maximum: 4194304 });
/** A device address, as hex (0x…): JavaScript numbers cannot hold every 64-bit pointer. */
const Pointer = Type.String({ maxLength: 18, pattern: '^0x[0-9a-f]{1,16}$' });

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
    exitCode: Type.Optional(Type.Integer({ minimum: -MAX_INT, maximum: MAX_INT })),
    uid: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    euid: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    gid: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    egid: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    /** When the process last changed its credentials (set*id). */
    credChanged: Type.Optional(Time),
    /** When the process last changed namespaces (unshare, setns), and the CLONE_NEW* flags it asked for. */
    nsChanged: Type.Optional(Time),
    nsFlags: Type.Optional(Type.Integer({ minimum: 0 })),
    /** When the process asked its parent to trace it (PTRACE_TRACEME). */
    traceme: Type.Optional(Time),
    /** The exec's environment, only the variables the rules name (NAME=value, secrets redacted). */
    env: Type.Optional(Type.Array(Type.String({ maxLength: MAX_ENV_VALUE + 128 }), { maxItems: MAX_ENV_VARS })),
    /** The environment was longer than the sensor reads: a named variable past the end is missed. */
    envTruncated: Type.Optional(Type.Boolean()),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
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
    version: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    pathTruncated: Type.Optional(Type.Boolean()),
    deleted: Type.Optional(Time),
    /** Not a regular file: a directory, a symbolic or hard link (a new name), or an in-memory file (memfd_create). */
    fileType: Type.Optional(Type.Union([Type.Literal('directory'), Type.Literal('symlink'), Type.Literal('hardlink'), Type.Literal('memfd')])),
    /** A link's target: what a symlink holds, or the path a hard link gave a new name to. */
    linkTarget: Type.Optional(Type.String({ maxLength: MAX_PATH })),
    /** Removed when the invocation that made it ended (an ephemeral F3 file cleaned up). */
    removedAtInvocationEnd: Type.Optional(Type.Boolean()),
    /** On an F3 volume: its id (then path is the path inside the volume and node is the volume's node). */
    volume: Type.Optional(VolumeId),
    tier: Type.Optional(Type.Union([Type.Literal('ephemeral'), Type.Literal('durable')])),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
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
    /**
     * gpu-server: a configured GPU server of a disaggregated GPU pool (API remoting). telemetry: the
     * agent's own OTLP receiver, or the one an instance's environment sends its spans to (the
     * product's plumbing: what is sent there goes to the agent, never to another function).
     * gateway: the gateway an instance's environment calls other functions through (gateway_url).
     */
    role: Type.Optional(Type.Union([Type.Literal('gpu-server'), Type.Literal('telemetry'), Type.Literal('gateway')])),
    /** A raw IP or packet socket (address raw:inet, raw:inet6 or packet; port is the protocol). */
    socketKind: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('packet')])),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
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
    count: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    /** Tells apart two gaps of one agent and cause that start at the same time. */
    seq: Type.Integer({ minimum: 0, maximum: MAX_INT }),
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
    /** Its own network namespace's addresses (a pod's), when it has one: where callers reach it. */
    addresses: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 45 }), { maxItems: 16 })),
    /** Secrets mounted for it (mount points below the secret roots in its mount namespace): the secrets that are its own. */
    secrets: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: MAX_PATH }), { maxItems: 32 })),
    /**
     * The agent could not read its facts from /proc: its root had exited (or its pid had been reused)
     * before the agent read them. cgroupPath, addresses and secrets are then unknown, not absent;
     * function and tenant are known only where envFrom says where they were read.
     */
    factsUnread: Type.Optional(Type.Literal('exited')),
    /** function and tenant were read from the environment the kernel copied at the root's exec (its /proc was gone). */
    envFrom: Type.Optional(Type.Literal('exec')),
    /** The root's environment was longer than the kernel read at its exec: a variable past the end (the function, the tenant) is missed. */
    envTruncated: Type.Optional(Type.Boolean()),
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
    fd: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

/**
 * One direction of an accepted TCP connection (or of a connection to a server accepted on this
 * node): what the client sent (toServer) or what the server sent (toClient). Identified by the
 * process and fd that first saw it (the client's connect, else the server's accept) and when; an
 * entity of its own, so the server's listening address and a long-lived proxy are no hubs.
 */
export const ConnectionNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Connection'),
    node: NodeName,
    pid: Type.Integer({ minimum: 0, maximum: 4194304 }),
    fd: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    /** When the connection was made (the connect, else the accept), µs. */
    opened: Time,
    flow: Type.Union([Type.Literal('toServer'), Type.Literal('toClient')]),
    /** The server's address:port (the listening socket) and the client's, when the kernel named it. */
    server: Type.Optional(Type.String({ maxLength: MAX_PATH + 12 })),
    client: Type.Optional(Type.String({ maxLength: MAX_PATH + 12 })),
    /** The accept was matched to a connect by order alone, among several waiting (agent's connections.ts). */
    matchInferred: Type.Optional(Type.Boolean()),
    /** The tenant (OpenFaaS namespace) whose function made it; absent: shared or unknown. */
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

/** W3C trace context ids, lower-case hex as OTLP/JSON writes them. */
export const TraceId = Type.String({ pattern: '^[0-9a-f]{32}$' });
export const SpanId = Type.String({ pattern: '^[0-9a-f]{16}$' });
const SpanStatus = Type.Union([Type.Literal('unset'), Type.Literal('ok'), Type.Literal('error')]);

/** A request served by a function: the call id its template shim announced (a PROV Activity). */
export const InvocationNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Invocation'),
    callId: Type.String({ minLength: 1, maxLength: 128 }),
    start: Time,
    end: Type.Optional(Time),
    function: Type.Optional(Type.String({ maxLength: 253 })),
    /** Announced by code inside the function (the shim), not observed by the kernel. */
    source: Type.Literal('shim'),
    tenant: Type.Optional(Tenant),
    /**
     * What the function's server span says (app layer, untrusted), next to what the kernel saw
     * (start, end, function, the units): its function, trigger, cold start, status, times, ids.
     */
    appFunction: Type.Optional(Type.String({ maxLength: 253 })),
    appTrigger: Type.Optional(Type.String({ maxLength: 64 })),
    appColdStart: Type.Optional(Type.Boolean()),
    appStatus: Type.Optional(SpanStatus),
    appStart: Type.Optional(Time),
    appEnd: Type.Optional(Time),
    appDuration: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    traceId: Type.Optional(TraceId),
    spanId: Type.Optional(SpanId),
    /** Where the two layers disagree (the span against the kernel's units and instance). */
    contradictions: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 16 })),
  },
  { additionalProperties: false },
);

/** One process's work inside one invocation: the subject of its syscalls while the invocation runs. */
export const UnitNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Unit'),
    node: NodeName,
    pid: Pid,
    /** The start of the process image the unit ran in (with node and pid: the process's key). */
    processStart: Time,
    callId: Type.String({ minLength: 1, maxLength: 128 }),
    start: Time,
    end: Type.Optional(Time),
    /** The thread whose begin marker opened it. */
    tid: Type.Optional(Pid),
    /** The instance (id) and function the process serves. */
    instance: Type.Optional(Id),
    function: Type.Optional(Type.String({ maxLength: 253 })),
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
  },
  { additionalProperties: false },
);

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A rule's finding, linked (CONCERNS) to the nodes of the operation that raised it. */
export const AlertNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Alert'),
    rule: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s))),
    /** When the operation happened (µs). */
    time: Time,
    summary: Type.String({ maxLength: 1024 }),
    /** The nodes of the operation (subject, and object when there is one): with rule, the alert's key. */
    subject: Id,
    object: Type.Optional(Id),
    function: Type.Optional(Type.String({ maxLength: 253 })),
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
  },
  { additionalProperties: false },
);

/**
 * Device memory from one allocation: device is where the pointer means something (a local
 * GPU context of one process, or a GPU server shared by every client). The allocation itself is
 * version 0 (its content as allocated: the allocator wrote nothing); each copy into it (or kernel
 * that may have written it) makes a version, a node of its own with the allocation's fields and
 * `version`, `WAS_DERIVED_FROM` the versions whose bytes it kept (agent's observer/gpu.ts).
 */
export const GpuBufferNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('GpuBuffer'),
    device: Type.String({ minLength: 1, maxLength: 300 }),
    ptr: Pointer,
    /** When it was allocated (µs); 0: before capture, size unknown. */
    allocated: Time,
    size: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT })),
    /** The allocation call: cudaMalloc, cuMemAlloc_v2… and its return code (0: success). */
    api: Type.Optional(Type.String({ maxLength: 64 })),
    rc: Type.Optional(Type.Integer({ minimum: -MAX_INT, maximum: MAX_INT })),
    freed: Type.Optional(Time),
    /** A version made by a write (µs, > allocated): absent on the allocation. Its rc is the write's, when it failed. */
    version: Type.Optional(Time),
    tenant: Type.Optional(Tenant),
    tenantUnknown: TenantUnknown,
  },
  { additionalProperties: false },
);

/**
 * A buffer's allocation edge: WAS_GENERATED_BY from the allocation (not a version) at its
 * allocation time, no copy. It made the buffer but put no data in it, so no data path goes through
 * it. (An older agent's copies and kernel writes on the allocation itself are not it.)
 */
export function isGpuAllocation(e: Pick<GraphEdge, 'type' | 'firstTime' | 'attrs'>, from: GraphNode | undefined): boolean {
  return e.type === 'WAS_GENERATED_BY' && from?.type === 'GpuBuffer' && !from.version && e.attrs?.copyKind === undefined && e.firstTime === from.allocated;
}

/** A kernel launch (cudaLaunchKernel, cuLaunchKernel): an activity of the unit that launched it. */
export const GpuKernelNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('GpuKernel'),
    node: NodeName,
    pid: Pid,
    device: Type.String({ minLength: 1, maxLength: 300 }),
    /** The host-side function handle passed to the launch, and its symbol when known. */
    func: Pointer,
    symbol: Type.Optional(Type.String({ maxLength: MAX_STR })),
    api: Type.String({ maxLength: 64 }),
    start: Time,
    rc: Type.Optional(Type.Integer({ minimum: -MAX_INT, maximum: MAX_INT })),
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

/**
 * An OpenTelemetry span a function's shim exported to its node's agent (app layer: what the
 * function says about itself, untrusted). A span known only as another span's parent carries
 * its ids alone (no node) until it arrives itself.
 */
export const SpanNode = Type.Object(
  {
    id: Id,
    type: Type.Literal('Span'),
    traceId: TraceId,
    spanId: SpanId,
    /** The node whose agent received it (absent: known only as a parent so far). */
    node: Type.Optional(NodeName),
    parentSpanId: Type.Optional(SpanId),
    name: Type.Optional(Type.String({ maxLength: 1024 })),
    kind: Type.Optional(Type.Union(['internal', 'server', 'client', 'producer', 'consumer'].map((k) => Type.Literal(k)))),
    start: Type.Optional(Time),
    end: Type.Optional(Time),
    status: Type.Optional(SpanStatus),
    statusMessage: Type.Optional(Type.String({ maxLength: 1024 })),
    service: Type.Optional(Type.String({ maxLength: 253 })),
    /** faas.invocation_id, and the Invocation (id) it names. */
    callId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    invocation: Type.Optional(Id),
    function: Type.Optional(Type.String({ maxLength: 253 })),
    trigger: Type.Optional(Type.String({ maxLength: 64 })),
    coldStart: Type.Optional(Type.Boolean()),
    httpMethod: Type.Optional(Type.String({ maxLength: 32 })),
    httpTarget: Type.Optional(Type.String({ maxLength: 2048 })),
    httpStatus: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
    /** false: the agent saw no unit of this call id (the kernel does not confirm the invocation). */
    unitSeen: Type.Optional(Type.Boolean()),
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);

export type ProcessNode = Static<typeof ProcessNode>;
export type SpanNode = Static<typeof SpanNode>;
export type InstanceNode = Static<typeof InstanceNode>;
export type PipeNode = Static<typeof PipeNode>;
export type ConnectionNode = Static<typeof ConnectionNode>;
export type FileNode = Static<typeof FileNode>;
export type EndpointNode = Static<typeof EndpointNode>;
export type GapNode = Static<typeof GapNode>;

/** Folds edge e into edge into (same id): the span of both times, summed counts and bytes, e's attributes over into's. */
export function collapseEdge(into: GraphEdge, e: GraphEdge): void {
  into.firstTime = Math.min(into.firstTime, e.firstTime);
  into.lastTime = Math.max(into.lastTime, e.lastTime);
  into.count += e.count;
  into.bytes += e.bytes;
  if (e.attrs) into.attrs = { ...into.attrs, ...e.attrs };
}

/**
 * A Gap whose cause ends in `-inferred` (attribution-inferred, connection-inferred) counts operations
 * charged by inference, not events lost: capture saw them, the edges say `inferred`.
 */
export function isInferenceGap(g: Pick<GapNode, 'cause'>): boolean {
  return g.cause.endsWith('-inferred');
}
export type InvocationNode = Static<typeof InvocationNode>;
export type UnitNode = Static<typeof UnitNode>;
export type GpuBufferNode = Static<typeof GpuBufferNode>;
export type GpuKernelNode = Static<typeof GpuKernelNode>;
export type AlertNode = Static<typeof AlertNode>;
export type GraphNode =
  | ProcessNode
  | FileNode
  | EndpointNode
  | GapNode
  | InstanceNode
  | PipeNode
  | ConnectionNode
  | InvocationNode
  | UnitNode
  | GpuBufferNode
  | GpuKernelNode
  | AlertNode
  | SpanNode;
export type NodeType = GraphNode['type'];

export const NODE_SCHEMAS = {
  Process: ProcessNode,
  File: FileNode,
  Endpoint: EndpointNode,
  Gap: GapNode,
  Instance: InstanceNode,
  Pipe: PipeNode,
  Connection: ConnectionNode,
  Invocation: InvocationNode,
  Unit: UnitNode,
  GpuBuffer: GpuBufferNode,
  GpuKernel: GpuKernelNode,
  Alert: AlertNode,
  Span: SpanNode,
} as const;
export const NODE_TYPES = Object.keys(NODE_SCHEMAS) as NodeType[];

export const EDGE_TYPES = [
  'USED',
  'WAS_GENERATED_BY',
  'WAS_INFORMED_BY',
  'WAS_INVALIDATED_BY',
  'WAS_ASSOCIATED_WITH',
  'WAS_ATTRIBUTED_TO',
  'PART_OF',
  'CONCERNS',
  'WAS_DERIVED_FROM',
] as const;
export type EdgeType = (typeof EDGE_TYPES)[number];

/** Facts about some of the operations an edge stands for; merged key by key when edges collapse. */
export const EdgeAttrs = Type.Object(
  {
    /** A read of an F3 file while another open file description still had it open for writing. */
    readWhileWrite: Type.Optional(Type.Boolean()),
    /** A GPU buffer used by another tenant than the one that allocated it. */
    crossTenant: Type.Optional(Type.Boolean()),
    /** The return code of a failed API call (a CUDA error): the operation was tried, not done. */
    rc: Type.Optional(Type.Integer({ minimum: -MAX_INT, maximum: MAX_INT })),
    /** Charged to its subject by inference, not by a marker on the acting thread (agent's attribution.ts). */
    inferred: Type.Optional(Type.Boolean()),
    /** The process started the connection (connect), rather than accepting it. */
    initiated: Type.Optional(Type.Boolean()),
    /** The CUDA copy kind (1 host→device, 2 device→host, 3 device→device, 4 inferred). */
    copyKind: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    /** The flags of the (last) open among the operations (O_WRONLY, O_CREAT...). */
    openFlags: Type.Optional(Type.Integer({ minimum: 0 })),
    /** The new process image runs this file's content (exec of /proc/self/fd/N, /dev/fd/N). */
    exec: Type.Optional(Type.Boolean()),
    /** A ptrace request (0: PTRACE_TRACEME) or a signal (kill, tgkill, pidfd_send_signal) behind a WAS_INFORMED_BY edge. */
    ptrace: Type.Optional(Type.Integer({ minimum: 0 })),
    signal: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type EdgeAttrs = Static<typeof EdgeAttrs>;

export const GraphEdge = Type.Object(
  {
    id: Id,
    type: Type.Union(EDGE_TYPES.map((t) => Type.Literal(t))),
    from: Id,
    to: Id,
    firstTime: Time,
    lastTime: Time,
    count: Type.Integer({ minimum: 1, maximum: MAX_INT }),
    bytes: Type.Integer({ minimum: 0, maximum: MAX_INT }),
    attrs: Type.Optional(EdgeAttrs),
  },
  { additionalProperties: false },
);
export type GraphEdge = Static<typeof GraphEdge>;

export interface SerializedGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const ACTIVITIES: ReadonlySet<NodeType> = new Set(['Process', 'Unit', 'GpuKernel', 'Invocation', 'Span']);
const ENTITIES: ReadonlySet<NodeType> = new Set(['File', 'Endpoint', 'Gap', 'Pipe', 'Connection', 'GpuBuffer', 'Alert']);
const AGENTS: ReadonlySet<NodeType> = new Set(['Instance']);

/** W3C PROV direction rules: which node types an edge type may join. */
export function edgeKindError(type: EdgeType, from: NodeType, to: NodeType): string | undefined {
  const ok =
    (type === 'USED' && ACTIVITIES.has(from) && ENTITIES.has(to)) ||
    ((type === 'WAS_GENERATED_BY' || type === 'WAS_INVALIDATED_BY') && ENTITIES.has(from) && ACTIVITIES.has(to)) ||
    (type === 'WAS_INFORMED_BY' && ACTIVITIES.has(from) && ACTIVITIES.has(to)) ||
    (type === 'WAS_ASSOCIATED_WITH' && ACTIVITIES.has(from) && AGENTS.has(to)) ||
    (type === 'WAS_ATTRIBUTED_TO' && ENTITIES.has(from) && AGENTS.has(to)) ||
    (type === 'PART_OF' && (from === 'Unit' || from === 'Span') && to === 'Invocation') ||
    (type === 'CONCERNS' && from === 'Alert' && to !== 'Alert') ||
    // A file version made by a write that kept part of the version before it (append, partial overwrite),
    // a request or response a relay forwarded from one connection to another, or a GPU buffer version
    // that kept bytes of earlier ones (a partial copy).
    (type === 'WAS_DERIVED_FROM' && ((from === 'File' && to === 'File') || (from === 'Connection' && to === 'Connection') || (from === 'GpuBuffer' && to === 'GpuBuffer')));
  return ok ? undefined : `${type} cannot join ${from} to ${to}`;
}

/** Each node type's id prefix (`p_…`): an id says its node's type. */
export const PREFIX: Readonly<Record<NodeType, string>> = {
  Process: 'p', File: 'f', Endpoint: 'ep', Gap: 'gap', Instance: 'i', Pipe: 'pp', Connection: 'cn',
  Invocation: 'inv', Unit: 'u', GpuBuffer: 'gb', GpuKernel: 'gk', Alert: 'al', Span: 'sp',
};

export function processId(node: string, pid: number, start: number): string {
  return hashId(PREFIX.Process, ['Process', node, pid, start]);
}
/** A local file is keyed by its node; a file on an F3 volume by the volume, whichever node touches it. */
export function fileId(node: string, path: string, version: number, volume?: string): string {
  return volume === undefined ? hashId(PREFIX.File, ['File', node, path, version]) : hashId(PREFIX.File, ['File', `volume:${volume}`, path, version]);
}
export function invocationId(callId: string, tenant?: string): string {
  return hashId(PREFIX.Invocation, ['Invocation', tenant ?? '', callId]);
}
/** start tells apart two runs (attempts) of one call id in one process image: each unit's key is new, never looked up. */
export function unitId(node: string, pid: number, processStart: number, callId: string, start: number): string {
  return hashIdOnce(PREFIX.Unit, ['Unit', node, pid, processStart, callId, start]);
}
/** A span is one (trace, span) pair, whichever agent met it (as itself or as a parent). */
export function spanNodeId(traceId: string, spanId: string): string {
  return hashId(PREFIX.Span, ['Span', traceId, spanId]);
}
/** The allocation (version 0, or absent) keeps the id it had before buffers had versions. */
export function gpuBufferId(device: string, ptr: string, allocated: number, version = 0): string {
  return hashId(PREFIX.GpuBuffer, version ? ['GpuBuffer', device, ptr, allocated, version] : ['GpuBuffer', device, ptr, allocated]);
}
export function alertId(rule: string, subject: string, object?: string): string {
  return hashId(PREFIX.Alert, ['Alert', rule, subject, object ?? '']);
}
export function gpuKernelId(node: string, pid: number, start: number, func: string): string {
  return hashId(PREFIX.GpuKernel, ['GpuKernel', node, pid, start, func]);
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
/** One direction of a connection, keyed by the process and fd that first saw it and when. */
export function connectionId(node: string, pid: number, fd: number, opened: number, flow: 'toServer' | 'toClient'): string {
  return hashId(PREFIX.Connection, ['Connection', node, pid, fd, opened, flow]);
}
export function edgeId(type: EdgeType, from: string, to: string): string {
  return hashId('e', [type, from, to]);
}
/** edgeId, not looked up nor kept: for a holder that remembers its edges' ids (most edges are new: a unit's). */
export function edgeIdOnce(type: EdgeType, from: string, to: string): string {
  return hashIdOnce('e', [type, from, to]);
}

/** The id a node must have, computed from its natural key. */
export function expectedNodeId(n: GraphNode): string {
  switch (n.type) {
    case 'Process':
      return processId(n.node, n.pid, n.start);
    case 'File':
      return fileId(n.node, n.path, n.version, n.volume);
    case 'Endpoint':
      return endpointId(n.address, n.port, n.node);
    case 'Gap':
      return gapId(n.agent, n.cause, n.from, n.seq);
    case 'Instance':
      return instanceId(n.node, n.rootPid, n.start);
    case 'Pipe':
      return pipeId(n.node, n.pid, n.created, n.fd);
    case 'Connection':
      return connectionId(n.node, n.pid, n.fd, n.opened, n.flow);
    case 'Invocation':
      return invocationId(n.callId, n.tenant);
    case 'Unit':
      return unitId(n.node, n.pid, n.processStart, n.callId, n.start);
    case 'GpuBuffer':
      return gpuBufferId(n.device, n.ptr, n.allocated, n.version);
    case 'GpuKernel':
      return gpuKernelId(n.node, n.pid, n.start, n.func);
    case 'Alert':
      return alertId(n.rule, n.subject, n.object);
    case 'Span':
      return spanNodeId(n.traceId, n.spanId);
  }
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
