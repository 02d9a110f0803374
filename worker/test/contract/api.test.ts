import { describe, expect, it } from 'vitest';
import { checkCall, CALL_NAMES } from '../../src/contract/api.js';

describe('the API contract', () => {
  it('checks every call by name and arguments', () => {
    expect(CALL_NAMES).toContain('startRun');
    expect(() => checkCall('constructor', {})).toThrow(/unknown call "constructor"/);
    expect(() => checkCall('setPolicy', { runId: 'a', oom: 'explode' })).toThrow(/setPolicy: oom/);
    expect(checkCall('startRun', { input: 'x.jsonl', models: [{ model: 'm' }] }).args).toMatchObject({ ensembleMode: 'simultaneous', chunkSize: 1000, batchSize: 'auto' });
    expect(() => checkCall('startRun', { input: 'x', models: [{ model: 'm' }], minBatch: 64, maxBatch: 8 })).toThrow(/floor \(min batch\) is above the ceiling/);
  });

  it('checks a known kind\'s request at the gate, and passes any other kind on for its job to check', () => {
    expect(checkCall('startRun', { kind: 'embed', input: 'x', models: [{ model: 'm' }] }).args).toMatchObject({ kind: 'embed', chunkSize: 1000 });
    expect(() => checkCall('startRun', { kind: 'embed', input: 'x', models: [{ model: 'm' }], units: 3 })).toThrow(/startRun: arguments: Unrecognized key: "units"/);
    // Names an object's own properties could shadow are kinds like any other, never a schema.
    for (const kind of ['constructor', 'tostring', 'hasownproperty']) expect(checkCall('startRun', { kind, units: 3 }).args).toEqual({ kind, units: 3 });
    expect(() => checkCall('startRun', { kind: '__proto__' })).toThrow(/kind: a job kind is a short lower-case name/);
    expect(() => checkCall('setPolicy', { runId: 'a', ensembleMode: 'parallel' })).toThrow(/setPolicy: ensembleMode/);
    expect(checkCall('setPolicy', { runId: 'a', someOtherKindsSetting: 3 }).args).toEqual({ runId: 'a', someOtherKindsSetting: 3 });
  });
});

describe('a run name', () => {
  it('is printable text on one line: control, format (bidi, zero-width, tag) and line-break characters are refused', async () => {
    const { RunName } = await import('../../src/contract/runs.js');
    for (const good of ['Team notes', 'Étude n° 3', '日本語のメモ', 'a'.repeat(80)]) expect(RunName.safeParse(good).success, good).toBe(true);
    for (const bad of ['', '   ', 'a'.repeat(81), 'two\nlines', 'tab\there', 'rtl\u202eevil', 'zero\u200bwidth', 'rlm\u200f', 'alm\u061c', 'b\ufeffom', 'tag\u{e0041}', 'se\u2028p']) {
      expect(RunName.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
