import { describe, expect, it } from '@jest/globals';
import type { AlertNode } from '@faasprov/model';
import type { AttackView } from '@faasprov/graph-service';
import { story } from './demo.js';

const alert = { type: 'Alert', id: 'a1', severity: 'critical', rule: 'code-from-other-invocation', function: 'authorize-cc', summary: 'invocation c2 loaded code written by invocation c1' } as unknown as AlertNode;
const view = (steps: string[]) => ({ view: 'attack', nodes: [], edges: [], context: [], folded: { nodes: [], edges: [] }, pruned: [], steps, truncated: false }) as unknown as AttackView;

describe('the demo story', () => {
  it("numbers the named invocations' steps in order and says how many others the full trace holds", () => {
    const text = story(alert, view(['invocation c1 wrote plugins/x.py', 'invocation b9 read catalog.db', 'invocation c2 loaded plugins/x.py']), 'faasprov trace A --view full');
    expect(text).toContain('   1. invocation c1 wrote plugins/x.py\n   2. invocation c2 loaded plugins/x.py');
    expect(text).not.toContain('b9');
    expect(text).toContain('(1 more step of start-up and other invocations: faasprov trace A --view full)');
  });

  it('does not announce "0 more steps" when the story holds every step', () => {
    const text = story(alert, view(['invocation c1 wrote plugins/x.py', 'invocation c2 loaded plugins/x.py']), 'faasprov trace A --view full');
    expect(text).not.toMatch(/more steps?/);
    expect(text).toContain('(the whole provenance: faasprov trace A --view full)');
  });
});
