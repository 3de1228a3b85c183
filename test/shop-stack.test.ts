/** The shop stack that invocation-latency and scripts/template-lab.mjs deploy (bench/src/shop.ts). */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeShop, writeShopData } from '../bench/src/shop.js';
import { ROOT, tempDir } from './helpers.js';

type Stack = { functions: Record<string, { lang: string; handler: string; environment?: Record<string, string> }> };
const SHOP = ['checkout', 'catalog', 'payment', 'trivial', 'files', 'cpu'];

describe('the shop stack', () => {
  it('writes every function on its template with its handler and the shop data; shim off and extra variables reach every function', () => {
    const dir = tempDir('fp-shop-stack-');
    try {
      const data = join(dir, 'data');
      writeShopData(data);
      expect(JSON.parse(readFileSync(join(data, 'catalog.json'), 'utf8'))).toEqual({ mug: 12.5, shirt: 20, cap: 9.99 });
      expect(existsSync(join(data, 'kinds', 'in-29.txt'))).toBe(true);
      writeShop(dir, data, { shim: false, env: { OTEL_BSP_SCHEDULE_DELAY: '500' } });
      const stack = parse(readFileSync(join(dir, 'stack.yaml'), 'utf8')) as Stack;
      expect(Object.keys(stack.functions)).toEqual(SHOP);
      expect(stack.functions.checkout!.lang).toBe('node24-faasprov');
      expect(stack.functions.catalog!.lang).toBe('python3-http-faasprov');
      for (const f of SHOP) expect(stack.functions[f]!.environment).toEqual({ SHOP_DATA: data, FAASPROV_SHIM: 'off', OTEL_BSP_SCHEDULE_DELAY: '500' });
      expect(readFileSync(join(dir, 'checkout', 'handler.js'), 'utf8')).toBe(readFileSync(join(ROOT, 'bench/fixtures/shop/checkout.js'), 'utf8'));
      expect(readFileSync(join(dir, 'files', 'handler.py'), 'utf8')).toBe(readFileSync(join(ROOT, 'bench/fixtures/kinds/files.py'), 'utf8'));
      expect(existsSync(join(dir, 'template', 'python3-http-faasprov', 'server.py'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds hello, the Node template\'s own handler, only when asked, without the shop\'s variables; the shim stays on unless turned off', () => {
    const dir = tempDir('fp-shop-stack-');
    try {
      writeShop(dir, join(dir, 'data'), { shim: true, hello: true });
      const stack = parse(readFileSync(join(dir, 'stack.yaml'), 'utf8')) as Stack;
      expect(Object.keys(stack.functions)).toEqual([...SHOP, 'hello']);
      expect(stack.functions.hello).toEqual({ lang: 'node24-faasprov', handler: './hello', image: 'hello:latest' });
      expect(stack.functions.payment!.environment).toEqual({ SHOP_DATA: join(dir, 'data') });
      expect(readFileSync(join(dir, 'hello', 'handler.js'), 'utf8')).toBe(readFileSync(join(ROOT, 'openfaas-templates/template/node24-faasprov/function/handler.js'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
