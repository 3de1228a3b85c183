import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelErrors } from '@faasprov/model';
import { StoreErrors } from '@faasprov/store';
import { AgentErrors } from '@faasprov/agent';
import { GraphErrors } from '@faasprov/graph-service';
import { AuthErrors, RuleErrors } from '@faasprov/collector';
import { FunctionsErrors } from '../cli/src/errors.js';
import { ROOT } from './helpers.js';

describe('error catalog', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const catalogs = { ModelErrors, StoreErrors, AgentErrors, GraphErrors, AuthErrors, RuleErrors, FunctionsErrors };
  for (const [name, catalog] of Object.entries(catalogs)) {
    it(`documents every code of ${name}, with its status`, () => {
      for (const [key, make] of Object.entries(catalog)) {
        expect(make.code).toBe(key);
        const row = doc.split('\n').find((l) => l.includes(`\`${key}\``));
        expect(row).toBeDefined();
        if (make.statusCode) expect(row).toContain(`| ${make.statusCode} |`);
      }
    });
  }
});
