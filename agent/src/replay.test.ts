import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayRecording } from './replay.js';

const lines = readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'recorded-capture.lines'), 'utf8').split('\n').filter(Boolean);

describe('replayRecording', () => {
  it('plays a recording again and again as new processes, and cuts a batch per second of capture time', () => {
    const once = replayRecording(lines, { agent: 'n:a', node: 'n', cutEveryNs: 1_000_000_000n });
    const many = replayRecording(lines, { agent: 'n:a', node: 'n', repeat: 20, cutEveryNs: 1_000_000_000n });
    const processes = (bs: typeof once) => new Set(bs.flatMap((b) => b.nodes.filter((n) => n.type === 'Process').map((n) => n.id))).size;
    // The recording spans about 160 ms: played once it is one batch; 20 passes span over 3 s.
    expect(once).toHaveLength(1);
    expect(many.length).toBeGreaterThanOrEqual(3);
    expect(processes(many)).toBe(20 * processes(once));
    for (const b of many) {
      const times = b.edges.flatMap((e) => [e.firstTime, e.lastTime]);
      expect(Math.max(...times) - Math.min(...times)).toBeLessThan(1_000_000);
    }
    // Numbered and chained as an agent ships them.
    many.forEach((b, i) => {
      expect(b.seq).toBe(i);
      if (i > 0) expect(b.prev).toBe(many[i - 1]!.hash);
    });
  });
});
