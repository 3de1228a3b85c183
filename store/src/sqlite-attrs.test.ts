import { describe, expect, it } from '@jest/globals';
import { instanceId } from '@faasprov/model';
import { attrValue, encodeAttrs, patchAttrs, readAttrs } from './sqlite-attrs.js';

describe('SQLite node attributes', () => {
  const attrs = {
    callId: 'c15656ac-3798-41da-a3c0-80c0b370ba38', start: 1_796_064_031_502_165, tenant: 't', function: 'f', node: 'n',
    end: 1_796_064_031_505_542, pid: 0, exitCode: -9, appColdStart: false, unitSeen: true, traceId: '114642c5df270dcdd229e2384c924883',
    instance: instanceId('n', 1, 2), name: 'GET /x ü', argv: ['a', 'b'], size: Number.MAX_SAFE_INTEGER, service: 'cafe', kind: 'server',
    aFutureField: { x: 1.5 }, httpTarget: '/', fileType: '12', path: 'C15656AC-3798-41DA-A3C0-80C0B370BA38', status: 'unset', detail: 'Server',
  };

  it('gives every attribute back exactly, in well under half the bytes of JSON', () => {
    const b = encodeAttrs(attrs)!;
    expect(readAttrs(b)).toEqual(attrs);
    expect(b.length).toBeLessThan(JSON.stringify(attrs).length / 2);
    expect(encodeAttrs({})).toBeNull();
  });

  it('answers SQL as json_extract would: numbers, text, booleans as 1 and 0, arrays as JSON, absent as null', () => {
    const b = encodeAttrs(attrs)!;
    expect([attrValue(b, 'start'), attrValue(b, 'callId'), attrValue(b, 'unitSeen'), attrValue(b, 'appColdStart'), attrValue(b, 'argv'), attrValue(b, 'nope'), attrValue(null, 'start')])
      .toEqual([attrs.start, attrs.callId, 1, 0, '["a","b"]', null, null]);
  });

  it('merges as json_patch merges: the newer value of each attribute, the others kept', () => {
    const a = encodeAttrs({ end: 5, pid: 1, name: 'x' });
    const b = encodeAttrs({ end: 9, exitCode: 3 });
    expect(readAttrs(patchAttrs(a, b)!)).toEqual({ end: 9, pid: 1, name: 'x', exitCode: 3 });
    expect(patchAttrs(null, b)).toBe(b);
    expect(patchAttrs(a, null)).toBe(a);
  });
});
