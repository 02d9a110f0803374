/** The session reducer's part of the VRAM guard and the leak detector: pure, no runtime. */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type RuntimeEvent, type RuntimeToEngine } from '../../../src/contract/protocol.js';
import { EmbedSpec, type ModelEntry } from '../../../src/jobs/embed/manifest.js';
import { openSession, step, type SessionEffect, type SessionState } from '../../../src/jobs/embed/sessionReducer.js';

const SHA = 'ab'.repeat(32);
const MB = 1024 * 1024;
const model: ModelEntry = { model: 'a', key: 'a', weight: 1, device: 'cpu' };

function session(perModel: number, config: { pausable?: boolean; recycleMB?: string } = {}): SessionState {
  const spec = EmbedSpec.parse({
    models: [model], ensembleMode: 'simultaneous', aggregate: 'concat', chunkSize: 10, batchSize: 'auto', minBatch: 1, maxBatch: 64,
    maxBatchTokens: null, targetMemory: 0.8, vramLimitGiB: null, oomPolicy: 'fail', maxSeqLen: null, textField: 'text', idField: 'id', keepChunks: false, workers: null,
  });
  const rows = perModel * 10;
  const pending = Array.from({ length: perModel }, (_, index) => ({ entry: model, chunk: { index, start: index * 10, end: index * 10 + 10 } }));
  return openSession(
    {
      runDir: '/runs/r1',
      spec,
      identities: [{ key: 'a', source: 'folder', sha256: SHA, files: 3, bytes: 100 }],
      corpus: { ids: Array.from({ length: rows }, (_, i) => `d${i}`), texts: Array.from({ length: rows }, (_, i) => `t${i}`) },
      unitsTotal: perModel,
      pid: 1,
      teachBudgets: false,
      worker: 'w0',
      device: null,
      pausable: config.pausable ?? false,
      leakEnv: config.recycleMB === undefined ? {} : { HEADROOM_LEAK_RECYCLE_MB: config.recycleMB },
    },
    pending,
    [],
    [],
    'simultaneous',
    { start: null, peak: null, end: null, resident: null },
  );
}

const ready: RuntimeEvent<'ready'> = { type: 'ready', protocol: PROTOCOL_VERSION, pid: 1, python: '3', torch: '2', sentenceTransformers: '3', cuda: false, devices: [] };
const described: RuntimeToEngine = { type: 'described', models: [{ modelKey: 'a', source: 'folder', dim: 8, weightBytes: 100, fingerprint: { sha256: SHA, files: 3, bytes: 100 } }] };
const passStarted: RuntimeToEngine = {
  type: 'pass_started', model: 'a', name: 'a', source: 'folder', device: 'cpu', deviceName: 'cpu', dtype: 'float32', dim: 8, maxSeqLen: 64, capacity: null, free: null, loaded: true, ms: 1, resident: 10,
};
const chunkDone = (index: number): RuntimeToEngine => ({
  type: 'chunk_done', pass: 'a', index, rows: 10, dim: 8, sha256: SHA, truncated: 0, ms: 1,
  stats: { batches: 1, ooms: 0, realTokens: 5, paddedTokens: 6, oomTruncated: 0, cpuFallbacks: 0, encodeMs: 1, budget: 512 },
});
const critical = (action: 'shrink' | 'pause'): RuntimeToEngine => ({ type: 'vram_level', level: 'critical', used: 97 * MB, total: 100 * MB, action, budget: action === 'shrink' ? 256 : null });

function run(state: SessionState, ...events: RuntimeToEngine[]): { state: SessionState; effects: SessionEffect[] } {
  const effects: SessionEffect[] = [];
  let next = step(state, { kind: 'ready', ready, oomPolicy: 'fail', paused: false });
  effects.push(...next.effects);
  for (const event of [described, passStarted, ...events]) {
    next = step(next.state, { kind: 'event', event });
    effects.push(...next.effects);
  }
  return { state: next.state, effects };
}

const journaled = (effects: SessionEffect[], type: string) => effects.filter((e) => e.kind === 'journal' && e.record.type === type).map((e) => (e.kind === 'journal' ? e.record : null));

describe('VRAM guard in the session', () => {
  it('journals a shrink and starts the next pass from the shrunk budget', () => {
    const { effects } = run(session(3), critical('shrink'));
    expect(journaled(effects, 'vram_level')).toEqual([{ type: 'vram_level', model: 'a', chunk: 0, level: 'critical', used: 97 * MB, total: 100 * MB, action: 'shrink', budget: 256 }]);
    expect(effects.some((e) => e.kind === 'report' && e.progress.kind === 'vram_level')).toBe(true);
  });

  it("'pause' pauses the run's control, and the runtime's paused carries the reason", () => {
    const { effects } = run(session(3, { pausable: true }), critical('pause'), { type: 'paused' });
    const pause = effects.find((e) => e.kind === 'pause_run');
    expect(pause).toMatchObject({ reason: 'memory at the critical level: 97% of 0.10 GiB (critical 95%)' });
    expect(effects.filter((e) => e.kind === 'report' && e.progress.kind === 'paused').map((e) => (e.kind === 'report' ? e.progress : null))).toEqual([
      { kind: 'paused', reason: 'memory at the critical level: 97% of 0.10 GiB (critical 95%)' },
    ]);
  });

  it("'pause' with nothing to resume the run stops it, resumable", () => {
    const { effects } = run(session(3), critical('pause'));
    const end = effects.at(-1);
    expect(end?.kind).toBe('fail');
    expect(end?.kind === 'fail' && end.error.kind).toBe('interrupted');
  });
});

describe('leak detector in the session', () => {
  const baseline = (chunk: number, mb: number): RuntimeToEngine => ({ type: 'baseline', bytes: mb * MB, model: 'a', chunk });

  it('warns on a rising baseline and recycles between units past the limit, once', () => {
    // chunks done one by one, each followed by its baseline, 100 MB more each time
    const events = Array.from({ length: 4 }, (_, i) => [chunkDone(i), baseline(i, 500 + 100 * i)]).flat();
    const { effects } = run(session(8, { recycleMB: '250' }), ...events);
    const leaks = journaled(effects, 'leak_warning');
    expect(leaks).toEqual([{ type: 'leak_warning', model: 'a', chunk: 3, slopeMB: 100, driftMB: 300, units: 4, recycle: true }]);
    expect(effects.filter((e) => e.kind === 'recycle_between_units')).toHaveLength(1);
    expect(effects.filter((e) => e.kind === 'report' && e.progress.kind === 'baseline')).toHaveLength(4);
  });

  it('asks no recycle when no unit is left to hand out', () => {
    const events = Array.from({ length: 3 }, (_, i) => [chunkDone(i), baseline(i, 500 + 200 * i)]).flat();
    const { effects } = run(session(3, { recycleMB: '250' }), ...events);
    expect(effects.filter((e) => e.kind === 'recycle_between_units')).toHaveLength(0);
  });
});
