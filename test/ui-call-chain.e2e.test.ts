import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { execa } from 'execa';
import { SqliteGraphStore } from '@faasprov/store';
import { applyBatch } from '@faasprov/collector';
import { freePort, until } from './agent-harness.js';
import { ROOT, tempDir } from './helpers.js';
import { scenario } from './span-scenario.js';

// The dashboard in real Chromium: an invocation's view shows its call chain and what the kernel contradicts.
describe("the dashboard's invocation view (Playwright, Chromium)", () => {
  const dir = tempDir('fp-ui-chain-');
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: process.env.FAASPROV_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
    });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the call chain A → B → C through B, and B\'s contradiction', async () => {
    const db = join(dir, 's.db');
    const s = new SqliteGraphStore(db);
    const { a, b } = scenario();
    for (const batch of [...a, ...b]) await applyBatch(s, batch);
    await s.close();
    const port = await freePort();
    const up = execa(join(ROOT, 'cli/bin/faasprov'), ['up', '--store', db, '--no-auth', '--port', String(port)], { reject: false });
    try {
      await until('the graph service', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30000);
      const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.getByLabel('API key').fill('none-needed');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('tab', { name: 'Search' }).click();
      await page.getByLabel(/^Text/).fill('call-B');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('button', { name: 'Investigate' }).first().click();
      await page.getByRole('navigation', { name: 'nodes of the trace' }).getByRole('button', { name: /invocation call-B/ }).first().click();
      const chain = page.getByRole('region', { name: 'call chain of invocation call-B' });
      await chain.waitFor({ timeout: 30000 });
      const items = await chain.getByRole('listitem').allInnerTexts();
      expect(items.map((t) => t.split(' ')[0])).toEqual(['call-A', 'call-B', 'call-C']);
      expect(items[1]).toContain('called by call-A (traceparent)');
      expect(items[2]).toContain('called by call-B (traceparent)');
      expect(await chain.getByRole('listitem').nth(1).getAttribute('aria-current')).toBe('true');
      expect(await chain.getByRole('note').allInnerTexts()).toEqual([expect.stringContaining('function: the span says "not-what-runs"')]);
    } finally {
      up.kill('SIGTERM');
      await up;
    }
  }, 120000);
});
