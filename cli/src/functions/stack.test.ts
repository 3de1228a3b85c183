import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadStack } from './stack.js';

function stackFile(text: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-stack-'));
  for (const [f, t] of Object.entries(extra)) writeFileSync(join(dir, f), t);
  writeFileSync(join(dir, 'stack.yaml'), text);
  return join(dir, 'stack.yaml');
}

describe('loadStack', () => {
  it('reads functions with their environment files merged under environment', () => {
    const f = stackFile(
      ['version: 1.0', 'provider: {name: openfaas, gateway: "http://127.0.0.1:8080"}', 'functions:', '  shop:', '    lang: node24-faasprov', '    handler: ./shop',
        '    environment_file: [env.yml]', '    environment: {max_inflight: 8, b: two}', '  pay:', '    lang: python3-http-faasprov', '    handler: ./pay', '    namespace: tenant-a'].join('\n'),
      { 'env.yml': 'environment:\n  a: one\n  b: overridden\n' },
    );
    const s = loadStack(f);
    expect(s.functions).toEqual([
      { name: 'shop', lang: 'node24-faasprov', handler: './shop', namespace: 'openfaas-fn', environment: { a: 'one', b: 'two', max_inflight: '8' }, secrets: [] },
      { name: 'pay', lang: 'python3-http-faasprov', handler: './pay', namespace: 'tenant-a', environment: {}, secrets: [] },
    ]);
  });

  it('names the problem in a bad stack', () => {
    expect(() => loadStack('/nonexistent/stack.yaml')).toThrow(/no such file/);
    expect(() => loadStack(stackFile('functions: {}'))).toThrow(/at least one function/);
    expect(() => loadStack(stackFile('functions:\n  Bad_Name: {lang: x, handler: ./x}'))).toThrow(/DNS-1123/);
    expect(() => loadStack(stackFile('functions:\n  a: {handler: ./x}'))).toThrow(/lang is required/);
    expect(() => loadStack(stackFile('functions:\n  a: {lang: x, handler: ./x, environment: [1]}'))).toThrow(/must be a map/);
    expect(() => loadStack(stackFile('functions:\n  a: {lang: x, handler: ./x, environment_file: [missing.yml]}'))).toThrow(/missing.yml: no such file/);
    expect(() => loadStack(stackFile('functions: [\n'))).toThrow(/not YAML/);
    expect(() => loadStack(stackFile('functions:\n  a: {lang: x, handler: ./x, secrets: [card-key]}'))).toThrow(/\.secrets\/card-key is missing/);
    expect(() => loadStack(stackFile('functions:\n  a: {lang: x, handler: ./x, secrets: card-key}'))).toThrow(/secrets must be a list/);
  });

  it('reads secrets: names whose .secrets/NAME exists beside the stack', () => {
    const f = stackFile('functions:\n  a: {lang: x, handler: ./x, secrets: [card-key]}');
    mkdirSync(join(dirname(f), '.secrets'));
    writeFileSync(join(dirname(f), '.secrets', 'card-key'), 'k');
    expect(loadStack(f).functions[0]!.secrets).toEqual(['card-key']);
  });
});
