import { describe, expect, it } from '@jest/globals';
import { AgentTokens } from './auth.js';

describe('AgentTokens', () => {
  const t = AgentTokens.parse(['node-1=0123456789abcdef0123', 'node-2=fedcba9876543210fedc']);

  it('identifies an agent by its token, and nobody by anything else', () => {
    expect(t.identify('0123456789abcdef0123')).toBe('node-1');
    expect(t.identify('fedcba9876543210fedc')).toBe('node-2');
    for (const bad of [undefined, '', '0123456789abcdef012', '0123456789abcdef01234', 'node-1']) expect(t.identify(bad)).toBeUndefined();
  });

  it('admits only the agent ids of the token owner', () => {
    expect(AgentTokens.admits('node-1', 'node-1')).toBe(true);
    expect(AgentTokens.admits('node-1', 'node-1:a1b2')).toBe(true);
    expect(AgentTokens.admits('node-1', 'node-10:a1b2')).toBe(false);
    expect(AgentTokens.admits('node-1', 'node-2:a1b2')).toBe(false);
  });

  it('refuses short tokens and malformed entries', () => {
    expect(() => AgentTokens.parse(['n=short'])).toThrow(/shorter than 16/);
    expect(() => AgentTokens.parse(['no-equals-sign'])).toThrow(/NAME=TOKEN/);
    expect(() => AgentTokens.parse(['bad name=0123456789abcdef0123'])).toThrow(/bad agent name/);
  });
});
