import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_TENANTS, edgeId, gapId, instanceId, processId, type GraphNode } from '@faasprov/model';
import { SqliteGraphStore } from '@faasprov/store';
import { instances } from './instances.js';

describe('instances (capture health)', () => {
  it('counts loss Gaps as gaps and lost events, and inference Gaps apart (nothing was lost)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-instances-'));
    const store = new SqliteGraphStore(join(dir, 's.db'));
    try {
      const inst: GraphNode = { id: instanceId('n', 10, 1), type: 'Instance', node: 'n', rootPid: 10, start: 1, mode: 'http', function: 'fn' };
      const p: GraphNode = { id: processId('n', 10, 1), type: 'Process', node: 'n', pid: 10, start: 1, exe: '/bin/fn', argv: [] };
      const gap = (cause: string, count: number, seq: number): GraphNode => ({ id: gapId('n:1', cause, 5, seq), type: 'Gap', agent: 'n:1', cause, from: 5, to: 6, count, seq });
      const gaps = [gap('perf-buffer-overflow', 12, 0), gap('attribution-inferred', 3, 1), gap('connection-inferred', 2, 2)];
      const edge = (type: 'WAS_ASSOCIATED_WITH' | 'WAS_ATTRIBUTED_TO', from: GraphNode, to: GraphNode) =>
        ({ id: edgeId(type, from.id, to.id), type, from: from.id, to: to.id, firstTime: 5, lastTime: 5, count: 1, bytes: 0 });
      await store.applyBatch({ agent: 'n:1', seq: 0, nodes: [inst, p, ...gaps], edges: [edge('WAS_ASSOCIATED_WITH', p, inst), ...gaps.map((g) => edge('WAS_ATTRIBUTED_TO', g, inst))] });
      const [health] = await instances(store, { scope: ALL_TENANTS });
      expect(health).toMatchObject({ processes: 1, gaps: 1, lost: 12, inferred: 5 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
