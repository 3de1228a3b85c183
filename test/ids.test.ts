import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { edgeId, edgeIdOnce, hashId, hashIdOnce, unitId } from '@faasprov/model';

/** The id scheme stores and collectors rely on: the prefix and the first 32 hex digits of sha256(JSON.stringify(parts)). */
const scheme = (prefix: string, parts: ReadonlyArray<string | number>) => `${prefix}_${createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32)}`;

const KEYS: (string | number)[][] = [
  ['File', 'n1', '/srv/data/a.json', 1700000000123456],
  ['File', 'n1', '/srv/odd "name"\n\t\u0001\\/é 😀.txt', 0],
  ['File', 'n1', 'lone \ud800 surrogate', -0],
  ['Gap', 'n1:abc', 'cause', Number.NaN, Number.POSITIVE_INFINITY],
  ['Pipe', 'n1', 1e21, 0.5, -7],
  ['Endpoint', '', 1, '1'],
  [],
  ['\u2028\u2029', '\u007f'],
];

describe('hashId', () => {
  it('gives the scheme\'s id for every key, cached or not, the first time and again', () => {
    for (const parts of KEYS) {
      const want = scheme('x', parts);
      expect(hashIdOnce('x', parts)).toBe(want);
      expect(hashId('x', parts)).toBe(want);
      expect(hashId('x', [...parts])).toBe(want);
    }
  });

  it('keeps apart keys that differ only in a part\'s type, count or prefix', () => {
    const ids = [hashId('x', ['a', 1]), hashId('x', ['a', '1']), hashId('x', ['a']), hashId('x', ['a', 1, 1]), hashId('y', ['a', 1])];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[1]).toBe(scheme('x', ['a', '1']));
    expect(ids[4]).toBe(scheme('y', ['a', 1]));
  });

  it('stays right over the cache\'s bound (the cache is cleared wholesale)', () => {
    for (let i = 0; i < 60_000; i++) hashId('z', ['k', i]);
    for (const i of [0, 1, 49_999, 50_000, 59_999]) expect(hashId('z', ['k', i])).toBe(scheme('z', ['k', i]));
  });

  it('makes edge and unit ids as before', () => {
    expect(edgeId('USED', 'u_1', 'f_2')).toBe(scheme('e', ['USED', 'u_1', 'f_2']));
    expect(edgeIdOnce('USED', 'u_1', 'f_2')).toBe(edgeId('USED', 'u_1', 'f_2'));
    expect(unitId('n1', 7, 100, 'call-1', 200)).toBe(scheme('u', ['Unit', 'n1', 7, 100, 'call-1', 200]));
  });
});
