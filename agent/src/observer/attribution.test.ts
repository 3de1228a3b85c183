import { describe, expect, it } from '@jest/globals';
import { ProcessUnits, type ActiveUnit } from './attribution.js';

function unit(callId: string, tid: number): ActiveUnit {
  return {
    node: { id: `unt_${callId}`, type: 'Unit', node: 'n', pid: 1, processStart: 0, callId, start: 0 },
    invocation: { id: `inv_${callId}`, type: 'Invocation', callId, start: 0, source: 'shim' },
    tid,
    servedBefore: 0,
    ephemeral: new Map(),
  };
}

function begin(u: ProcessUnits, tid: number, callId: string) {
  return u.begin(tid, callId, () => unit(callId, tid));
}

describe('ProcessUnits (attribution rules)', () => {
  it('charges each thread to the unit it began, exactly (rule 1)', () => {
    const u = new ProcessUnits();
    begin(u, 11, 'a');
    begin(u, 12, 'b');
    expect(u.charge(11)).toEqual({ unit: expect.objectContaining({ tid: 11 }), inferred: false });
    expect(u.charge(11).unit?.node.callId).toBe('a');
    expect(u.charge(12).unit?.node.callId).toBe('b');
  });

  it("ends a unit on its end marker and frees every thread serving it, leaving the others' units", () => {
    const u = new ProcessUnits();
    begin(u, 11, 'a');
    begin(u, 12, 'b');
    u.thread(11, 13);
    expect(u.end('a')?.node.callId).toBe('a');
    expect(u.charge(13)).toEqual({ unit: expect.objectContaining({ tid: 12 }), inferred: true }); // rule 5: one open unit
    expect(u.charge(12)).toEqual({ unit: expect.objectContaining({ tid: 12 }), inferred: false });
    expect(u.end('a')).toBeUndefined();
  });

  it('lets a thread started by a serving thread inherit its unit (rule 2), and nothing otherwise', () => {
    const u = new ProcessUnits();
    begin(u, 11, 'a');
    begin(u, 12, 'b');
    u.thread(11, 21);
    u.thread(99, 22);
    expect(u.charge(21)).toEqual({ unit: expect.objectContaining({ tid: 11 }), inferred: false });
    expect(u.charge(22)).toEqual({ inferred: true }); // rule 5: several open units, the image
  });

  it('charges the process image exactly when no unit is open (rule 4)', () => {
    const u = new ProcessUnits();
    expect(u.charge(5)).toEqual({ inferred: false });
    begin(u, 5, 'a');
    u.end('a');
    expect(u.charge(5)).toEqual({ inferred: false });
  });

  it('marks a begin on a thread still serving another unit as an overlap, charged by inference (rule 3)', () => {
    const u = new ProcessUnits();
    expect(begin(u, 11, 'a')).toMatchObject({ created: true, overlap: false });
    expect(begin(u, 11, 'b')).toMatchObject({ created: true, overlap: true });
    expect(u.charge(11)).toEqual({ unit: expect.objectContaining({ node: expect.objectContaining({ callId: 'b' }) }), inferred: true });
    expect(u.size).toBe(2); // a is still open: its own end marker ends it
    expect(u.end('a')?.node.callId).toBe('a');
    expect(u.charge(11).unit?.node.callId).toBe('b');
  });

  it('resumes an open call id on another thread without a new unit', () => {
    const u = new ProcessUnits();
    begin(u, 11, 'a');
    expect(begin(u, 12, 'a')).toMatchObject({ created: false, overlap: false });
    expect(u.charge(12)).toEqual({ unit: expect.objectContaining({ tid: 11 }), inferred: false });
    expect(u.size).toBe(1);
  });

  it('ends every unit at exec or exit', () => {
    const u = new ProcessUnits();
    begin(u, 11, 'a');
    begin(u, 12, 'b');
    expect(u.endAll().map((x) => x.node.callId).sort()).toEqual(['a', 'b']);
    expect(u.charge(11)).toEqual({ inferred: false });
  });
});
