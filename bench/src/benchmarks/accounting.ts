import type { NodeAgent } from '@faasprov/agent';
import type { GraphStore } from '@faasprov/store';

/** Gap causes that stand for lost events (other gaps, such as an unprobed library, are blind spots). */
const LOSS_CAUSES = new Set(['perf-buffer-overflow', 'parse-failure', 'spool-full']);

export interface GapTotals {
  /** Events the stored loss Gaps count. */
  events: number;
  /** Windows in which the sensor was down (`sensor-exit`): a loss of unknown size, but recorded. */
  blindWindows: number;
}

export async function gapTotals(store: GraphStore): Promise<GapTotals> {
  const { nodes } = await store.all();
  const gaps = nodes.filter((n) => n.type === 'Gap');
  return {
    events: gaps.reduce((sum, g) => sum + (LOSS_CAUSES.has(g.cause) ? g.count : 0), 0),
    blindWindows: gaps.filter((g) => g.cause === 'sensor-exit').length,
  };
}

/**
 * Every benchmark that captures reports what it lost and what its Gaps account for; run.ts fails
 * the run when a loss is not accounted for ("no loss without a Gap").
 */
export function lossFigures(lost: number, gaps: GapTotals): Record<string, number | string> {
  return { eventsLost: lost, eventsInGaps: gaps.events, sensorDownWindows: gaps.blindWindows, lossAccounted: gaps.events >= lost ? 'yes' : 'NO' };
}

/** The sum over labels of one of the agent's metrics. */
export async function metricValue(agent: NodeAgent, name: string): Promise<number> {
  const m = await agent.metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}
