/** Shared by the rule tests: a history of batches built from edges, applied with the shipped rules to both stores. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from '@jest/globals';
import { join } from 'node:path';
import { edgeId, type Batch, type EdgeAttrs, type EdgeType, type GraphEdge, type GraphNode } from '@faasprov/model';
import { Neo4jGraphStore, SqliteGraphStore, openGraphStore, type GraphStore } from '@faasprov/store';
import { DEFAULT_RULES_FILE, RuleEngine, applyBatch, loadRules } from '@faasprov/collector';
import { tempDir } from './helpers.js';

export type HistoryEdge = [EdgeType, GraphNode, GraphNode, number, EdgeAttrs?];

/** One agent batch holding the edges and every node they join (10 bytes, count 1 each). */
export function edgeBatch(agent: string, seq: number, edges: HistoryEdge[], extraNodes: GraphNode[] = []): Batch {
  const nodes = new Map<string, GraphNode>();
  const es: GraphEdge[] = edges.map(([type, from, to, t, attrs]) => {
    nodes.set(from.id, from);
    nodes.set(to.id, to);
    return { id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: t, lastTime: t, count: 1, bytes: 10, ...(attrs ? { attrs } : {}) };
  });
  for (const n of extraNodes) nodes.set(n.id, n);
  return { agent, seq, nodes: [...nodes.values()], edges: es };
}

export interface RuleStores {
  readonly sqlite: GraphStore;
  readonly neo: GraphStore;
}

/**
 * Registers the suite's hooks: before it, a fresh SQLite store and the test Neo4j (cleared), each
 * given the history through the collector's apply path with the shipped rules; after it, both closed.
 */
export function useRuleStores(history: Batch[]): RuleStores {
  const dir = tempDir('fp-rule-');
  let stores: { sqlite: GraphStore; neo: GraphStore } | undefined;
  beforeAll(async () => {
    const rules = new RuleEngine(loadRules(DEFAULT_RULES_FILE));
    const sqlite = new SqliteGraphStore(join(dir, 's.db'));
    const neo = await openGraphStore(process.env.FAASPROV_TEST_NEO4J!);
    stores = { sqlite, neo };
    await (neo as Neo4jGraphStore).clear();
    for (const s of [sqlite, neo]) for (const b of history) await applyBatch(s, structuredClone(b), undefined, rules);
  }, 120000);
  afterAll(async () => {
    await stores?.sqlite.close();
    await stores?.neo.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get sqlite() { return stores!.sqlite; },
    get neo() { return stores!.neo; },
  };
}
