import { describe, expect, it } from '@jest/globals';
import { edgeId, fileId, invocationId, pipeId, processId } from '@faasprov/model';
import { decodeEdgeId, decodeId, encodeEdgeId, encodeId } from './sqlite-codec.js';

describe('SQLite id codec', () => {
  const ids = [processId('n', 1, 1), pipeId('n', 1, 1, 3), fileId('n', '/f', 0), invocationId('c'), 'p_missing', 'weird id ü', '', 'e_1234'];

  it('gives back every id it stored, model ids in 18-21 bytes', () => {
    for (const id of ids) expect(decodeId(encodeId(id))).toBe(id);
    expect(encodeId(processId('n', 1, 1))).toHaveLength(18);
    expect(encodeId(invocationId('c'))).toHaveLength(20);
    const e = edgeId('USED', ids[0]!, ids[2]!);
    expect(encodeEdgeId(e)).toHaveLength(16);
    for (const id of [e, 'e_x', 'fifteen chars..', 'sixteen chars...', '']) expect(decodeEdgeId(encodeEdgeId(id))).toBe(id);
  });

  it('sorts stored ids as the id strings sort (pages of a search come in one order in both stores)', () => {
    const sorted = [...ids].sort();
    const byBlob = [...ids].sort((a, b) => Buffer.compare(encodeId(a), encodeId(b)));
    const model = (l: string[]) => l.filter((x) => /^[a-z]{1,4}_[0-9a-f]{32}$/.test(x));
    expect(model(byBlob)).toEqual(model(sorted));
  });
});
