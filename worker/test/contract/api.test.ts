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
});
