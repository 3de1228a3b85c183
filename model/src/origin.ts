import type { Batch } from './batch.js';
import type { GraphNode } from './graph.js';
import { FaasprovError, ModelErrors } from './errors.js';

/** A node name an agent id can carry: agent ids are NODE or NODE:SUFFIX. */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** The node an agent id speaks for: the part before the first ':'. */
export function agentNode(agent: string): string {
  const i = agent.indexOf(':');
  return i < 0 ? agent : agent.slice(0, i);
}

/**
 * own: a fact of the agent's node (its processes, local files, instances, its own gaps);
 * shared: an entity of no single node that any agent may meet (a remote endpoint, an F3 volume's
 * file, an invocation, a GPU server's buffer); otherwise why the agent may not send it.
 */
function origin(n: GraphNode, agent: string, node: string): 'own' | 'shared' | string {
  switch (n.type) {
    case 'Alert':
      return "agents cannot send Alert nodes (alerts are made by the collector's rules)";
    case 'Gap':
      return n.agent === agent ? 'own' : `a Gap of agent ${n.agent}`;
    case 'Invocation':
      return 'shared';
    case 'Span':
      // A span known only as a parent may come from any node; a received span is its node's.
      return n.node === undefined ? 'shared' : n.node === node ? 'own' : `a Span of node ${n.node}`;
    case 'Endpoint':
      return n.node === undefined ? 'shared' : n.node === node ? 'own' : `an Endpoint of node ${n.node}`;
    case 'File':
      if (n.node === node) return 'own';
      return n.volume !== undefined ? 'shared' : `a File of node ${n.node}`;
    case 'GpuBuffer':
      if (n.device.startsWith(`${node}/`)) return 'own';
      return n.device.startsWith('gpu-server:') ? 'shared' : `a GpuBuffer of device ${n.device}`;
    default:
      return n.node === node ? 'own' : `a ${n.type} of node ${n.node}`;
  }
}

/**
 * What an agent may write: nodes of its own node or shared entities, never another node's
 * facts, another agent's gaps or alerts, and every edge touches at least one node of its own.
 * Returns the error for the first offending node or edge (the batch must be refused whole).
 */
export function batchOriginError(b: Batch): FaasprovError | undefined {
  const node = agentNode(b.agent);
  const own = new Set<string>();
  for (let i = 0; i < b.nodes.length; i++) {
    const n = b.nodes[i]!;
    const o = origin(n, b.agent, node);
    if (o === 'own') own.add(n.id);
    else if (o !== 'shared') return ModelErrors.FP_ERR_BATCH_FORGED(`nodes/${i}`, `agent ${b.agent} (node ${node}) cannot send ${o}`);
  }
  for (let i = 0; i < b.edges.length; i++) {
    const e = b.edges[i]!;
    if (!own.has(e.from) && !own.has(e.to)) {
      return ModelErrors.FP_ERR_BATCH_FORGED(`edges/${i}`, `agent ${b.agent} (node ${node}) cannot join two nodes that are not its node's`);
    }
  }
  return undefined;
}
