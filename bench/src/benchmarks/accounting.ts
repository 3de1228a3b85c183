import type { NodeAgent } from '@faasprov/agent';
import type { GraphStore } from '@faasprov/store';

/** Gap causes that stand for lost events (other gaps, such as an unprobed library, are blind spots). */
const LOSS_CAUSES = new Set(['perf-buffer-overflow', 'parse-failure', 'spool-full']);

/** Events the stored Gap nodes account for. */
export async function eventsInGaps(store: GraphStore): Promise<number> {
  const { nodes } = await store.all();
  return nodes.reduce((sum, n) => sum + (n.type === 'Gap' && LOSS_CAUSES.has(n.cause) ? n.count : 0), 0);
}

/**
 * Every benchmark that captures reports what it lost and what its Gaps account for; run.ts fails
 * the run when a loss is not accounted for ("no loss without a Gap").
 */
export function lossFigures(lost: number, inGaps: number): Record<string, number | string> {
  return { eventsLost: lost, eventsInGaps: inGaps, lossAccounted: inGaps >= lost ? 'yes' : 'NO' };
}

/** The sum over labels of one of the agent's metrics. */
export async function metricValue(agent: NodeAgent, name: string): Promise<number> {
  const m = await agent.metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}
