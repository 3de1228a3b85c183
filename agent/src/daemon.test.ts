import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeAgent } from './daemon.js';
import { DiskSpool } from './ship/spool.js';

describe('NodeAgent configuration', () => {
  const make = (o: Partial<ConstructorParameters<typeof NodeAgent>[0]>, dir: string) =>
    new NodeAgent({ collector: 'http://127.0.0.1:9', watchComms: ['fwatchdog'], spoolDir: join(dir, 'spool'), node: 'n1', ...o });
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return undefined;
  };

  it('refuses a token shorter than 16 characters, a node name the agent id cannot carry, and a spool of another node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-agent-conf-'));
    try {
      expect(codeOf(() => make({ token: 'abc' }, dir))).toBe('FP_ERR_BAD_TOKEN');
      expect(codeOf(() => make({ node: 'my host:1' }, dir))).toBe('FP_ERR_BAD_NODE');
      new DiskSpool({ dir: join(dir, 'spool'), node: 'other-node' }).close();
      expect(codeOf(() => make({ token: 'a-token-of-16-chars' }, dir))).toBe('FP_ERR_SPOOL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
