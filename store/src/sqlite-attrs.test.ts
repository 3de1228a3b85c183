import { describe, expect, it } from '@jest/globals';
import { instanceId } from '@faasprov/model';
import { patchMore, readMore, splitAttrs } from './sqlite-attrs.js';

describe('SQLite node attributes', () => {
  const attrs = {
    callId: 'c-1', start: 1_796_064_031_502_165, tenant: 't', function: 'f', node: 'n',
    end: 1_796_064_031_505_542, pid: 0, exitCode: -9, appColdStart: false, unitSeen: true, traceId: '114642c5df270dcdd229e2384c924883',
    instance: instanceId('n', 1, 2), name: 'GET /x ü', argv: ['a', 'b'], size: Number.MAX_SAFE_INTEGER, service: 'cafe', kind: 'server',
    aFutureField: { x: 1.5 }, httpTarget: '', fileType: '12',
  };

  it('keeps what SQL reads as JSON and gives every other attribute back exactly', () => {
    const { json, more } = splitAttrs(attrs);
    expect(JSON.parse(json)).toEqual({ callId: 'c-1', start: attrs.start, tenant: 't', function: 'f', node: 'n' });
    expect({ ...JSON.parse(json), ...readMore(more!) }).toEqual(attrs);
    // A third of the JSON.
    expect(more!.length).toBeLessThan(JSON.stringify(attrs).length / 2);
    expect(splitAttrs({ start: 1 }).more).toBeNull();
  });

  it('merges as json_patch merges: the newer value of each attribute, the others kept', () => {
    const a = splitAttrs({ end: 5, pid: 1, name: 'x' }).more;
    const b = splitAttrs({ end: 9, exitCode: 3 }).more;
    expect(readMore(patchMore(a, b)!)).toEqual({ end: 9, pid: 1, name: 'x', exitCode: 3 });
    expect(patchMore(null, b)).toBe(b);
    expect(patchMore(a, null)).toBe(a);
  });
});
