import { beforeEach, describe, expect, it } from 'vitest';
import { RunEvent, RunInfo } from '../../../worker/src/contract/api.ts';
import { EMBED_KIND, EmbedEvent, EmbedRunInfo } from '../../../worker/src/contract/jobs/embed.ts';
import { applyEmbedEvent, embedSeriesOf, emptySeries, seriesFromHistory, workerFigures, type RunSeries } from '../../src/store/embed.ts';
import { useStore, WINDOW } from '../../src/store/index.ts';
import { batch, chunk, embedRun, memory, oom } from './fixtures.ts';

let seq = 0;
const envelope = (at: number, event: Record<string, unknown> & { kind: string }): RunEvent => RunEvent.parse({ runId: 'r', jobKind: EMBED_KIND, seq: (seq += 1), at, event });

describe('the fixtures fit the contract', () => {
  it('are valid embed events and run info', () => {
    for (const event of [memory(1), batch(1, 1, 1), oom(1), chunk(1)]) expect(EmbedEvent.safeParse(event).success).toBe(true);
    expect(EmbedRunInfo.safeParse(embedRun('r')).success).toBe(true);
    expect(RunInfo.safeParse(embedRun('r')).success).toBe(true);
  });
});

describe('run series from embed events', () => {
  it('charts memory, batches, tokens/s and chunks, and marks OOMs', () => {
    let s = emptySeries();
    s = applyEmbedEvent(s, 1000, memory(100, 1000));
    s = applyEmbedEvent(s, 2000, batch(32, 4000, 100));
    s = applyEmbedEvent(s, 3000, oom(64));
    s = applyEmbedEvent(s, 4000, chunk(1));
    expect(s.vram).toEqual([{ t: 1, v: 100 }]);
    expect(s.total).toBe(1000);
    expect(s.batchDocs).toEqual([{ t: 2, v: 32 }]);
    expect(s.tokensPerSecond).toEqual([{ t: 2, v: 40_000 }]);
    expect(s.ooms).toEqual([3]);
    expect(s.chunks).toEqual([{ t: 4, v: 1 }]);
    expect(s.batches).toBe(1);
    expect(s.log.at(-1)!.line).toMatch(/out of memory: 64 docs/);
  });

  it('keeps at most a day of samples per series', () => {
    let s: RunSeries = { ...emptySeries(), vram: Array.from({ length: WINDOW }, (_, t) => ({ t, v: t })) };
    for (let i = 0; i < 50; i += 1) s = applyEmbedEvent(s, (WINDOW + i) * 1000, memory(i, null));
    expect(s.vram.length).toBeLessThanOrEqual(WINDOW);
    expect(s.vram.at(-1)).toEqual({ t: WINDOW + 49, v: 49 });
    expect(s.vram[0]!.t).toBeGreaterThan(0); // the oldest went first
  });

  it('logs the runtime, a hung runtime and a pass in words', () => {
    let s = emptySeries();
    s = applyEmbedEvent(s, 1000, { kind: 'runtime', pid: 42, torch: '2.5.0', cuda: false });
    s = applyEmbedEvent(s, 2000, { kind: 'runtime_hung', pid: 42, silentS: 61.2, timeoutS: 60, model: 'm', chunk: 3, inARow: 1, giveUp: false });
    s = applyEmbedEvent(s, 3000, { kind: 'pass', phase: 'started', model: 'm', device: 'cpu', dim: 384, source: 'folder', loaded: true, ms: 12, budgetSource: 'probe', initialBudget: 4096, resident: 1e8 });
    s = applyEmbedEvent(s, 4000, { kind: 'pass', phase: 'completed', model: 'm', device: 'cpu', ms: 5000, rows: 600, peak: null, residentPeak: 2e8, released: true });
    expect(s.log.map((entry) => entry.line)).toEqual(['runtime 42 ready (torch 2.5.0, CPU only)', 'runtime 42 silent 61 s (timeout 60 s): restarting it', 'pass m started on cpu', 'pass m completed on cpu']);
    expect(s.passes).toEqual([{ model: 'm', worker: null, device: 'cpu', phase: 'completed', ms: 5000, rows: 600, residentPeak: 2e8 }]); // the started row gave way
  });
});

describe('the store takes events through onRunEvent', () => {
  beforeEach(() => useStore.setState(useStore.getInitialState(), true));

  it('folds a valid embed event into its run series', () => {
    useStore.getState().onRunEvent(envelope(5000, memory(700, 1000)));
    useStore.getState().onRunEvent(envelope(6000, chunk(2)));
    const s = embedSeriesOf(useStore.getState(), 'r');
    expect(s.vram).toEqual([{ t: 5, v: 700 }]);
    expect(s.chunks).toEqual([{ t: 6, v: 2 }]);
    expect(useStore.getState().droppedEvents).toBe(0);
  });

  it('drops an event that fails EmbedEvent, without crashing and without touching the series', () => {
    useStore.getState().onRunEvent(envelope(1000, memory(100)));
    const before = embedSeriesOf(useStore.getState(), 'r');
    const bad = [
      { kind: 'memory', allocated: 'lots', total: 1000 }, // a field of the wrong type
      { kind: 'chunk', chunksDone: 1 }, // fields missing (the old event shape)
      { kind: 'worker', pid: 1, torch: '2', cuda: true }, // renamed to 'runtime'
      { kind: 'no-such-event' },
    ];
    for (const event of bad) expect(() => useStore.getState().onRunEvent(envelope(2000, event))).not.toThrow();
    expect(embedSeriesOf(useStore.getState(), 'r')).toBe(before);
    expect(useStore.getState().droppedEvents).toBe(bad.length);
  });

  it('drops the events of a kind it has no slice for', () => {
    useStore.getState().onRunEvent(RunEvent.parse({ seq: 1, runId: 'x', jobKind: 'forecast', at: 1000, event: { kind: 'trial', score: 0.5 } }));
    expect(useStore.getState().droppedEvents).toBe(1);
    expect(useStore.getState().embedSeries).toEqual({});
  });
});

describe('the VRAM guard, the leak detector and the workers (issue 14)', () => {
  const workerMemory = (allocated: number, worker: string): EmbedEvent => ({ kind: 'memory', allocated, total: 1000, reserved: allocated, free: 1000, peak: allocated, worker });
  const pass = (phase: 'started' | 'completed', worker: string): EmbedEvent =>
    phase === 'started'
      ? { kind: 'pass', phase, model: 'm', device: 'cpu', dim: 4, source: 'folder', loaded: true, ms: 1, budgetSource: 'probe', initialBudget: 100, resident: 10, worker }
      : { kind: 'pass', phase, model: 'm', device: 'cpu', ms: 9, rows: 3, peak: null, residentPeak: 20, released: true, worker };

  it('charts each worker’s memory and batch sizes, and the baseline between units', () => {
    let s = emptySeries();
    s = applyEmbedEvent(s, 1000, workerMemory(100, 'w0'));
    s = applyEmbedEvent(s, 2000, workerMemory(300, 'w1'));
    s = applyEmbedEvent(s, 3000, workerMemory(150, 'w0'));
    s = applyEmbedEvent(s, 3500, { kind: 'batch', docs: 8, tokens: 80, padded: 90, ms: 5, peak: null, worker: 'w1' });
    s = applyEmbedEvent(s, 4000, { kind: 'baseline', model: 'm', chunk: 2, bytes: 90, worker: 'w0' });
    expect(s.workerVram).toEqual({ w0: [{ t: 1, v: 100 }, { t: 3, v: 150 }], w1: [{ t: 2, v: 300 }] });
    expect(s.workerBatch).toEqual({ w1: [{ t: 3.5, v: 8 }] });
    expect(s.vram.map((p) => p.v)).toEqual([100, 300, 150]); // the run's line keeps every sample
    expect(s.baseline).toEqual([{ t: 4, v: 90 }]);
    expect(s.incidents).toEqual([]);
  });

  it('the Workers card’s figures: live, the Engine’s; not live, each worker’s last memory and batch, its highest peak', () => {
    let s = emptySeries();
    s = applyEmbedEvent(s, 1000, { kind: 'memory', allocated: 100, total: 1000, reserved: 100, free: 1000, peak: 700, worker: 'w0' });
    s = applyEmbedEvent(s, 2000, workerMemory(300, 'w1'));
    s = applyEmbedEvent(s, 3000, workerMemory(150, 'w0'));
    s = applyEmbedEvent(s, 3500, { kind: 'batch', docs: 8, tokens: 80, padded: 90, ms: 5, peak: null, worker: 'w0' });
    expect(s.workerPeak).toEqual({ w0: 700, w1: 300 });
    const engine = { id: 'w0', device: 'cpu', pid: 7, state: 'working', restarts: 0, chunksDone: 1, allocated: 160, peak: 800, batchDocs: 9, budget: 100 } as const;
    expect(workerFigures(engine, s, true)).toEqual({ allocated: 160, peak: 800, batchDocs: 9, recordedAt: null });
    const fromJournal = { ...engine, state: 'done', pid: null, allocated: null, peak: null, batchDocs: null } as const;
    expect(workerFigures(fromJournal, s, false)).toEqual({ allocated: 150, peak: 700, batchDocs: 8, recordedAt: 3.5 });
    expect(workerFigures({ ...fromJournal, id: 'w1' }, s, false)).toEqual({ allocated: 300, peak: 300, batchDocs: null, recordedAt: 2 });
    // A worker the history never heard from (or a history not loaded yet): nothing to show, not a made-up figure.
    expect(workerFigures({ ...fromJournal, id: 'w2' }, s, false)).toEqual({ allocated: null, peak: null, batchDocs: null, recordedAt: null });
  });

  it('a pass is one model on one worker: both workers’ passes are kept, each start giving way to its end', () => {
    let s = emptySeries();
    for (const [at, event] of [[1, pass('started', 'w0')], [2, pass('started', 'w1')], [3, pass('completed', 'w1')], [4, pass('completed', 'w0')]] as const) s = applyEmbedEvent(s, at * 1000, event);
    expect(s.passes.map((p) => [p.worker, p.phase])).toEqual([
      ['w1', 'completed'],
      ['w0', 'completed'],
    ]);
    expect(s.log.at(-1)!.line).toBe('w0: pass m completed on cpu');
  });

  it('lists guard levels, leak warnings, hangs and restarts as incidents (and in the event log), by worker', () => {
    let s = emptySeries();
    const level = (at: number, lvl: 'warning' | 'critical', action: 'warn' | 'shrink' | 'pause', budget: number | null): void => {
      s = applyEmbedEvent(s, at, { kind: 'vram_level', model: 'm', chunk: 3, level: lvl, used: 870, total: 1000, action, budget, worker: 'w1' });
    };
    level(1000, 'warning', 'warn', null);
    level(2000, 'critical', 'shrink', 2048);
    level(3000, 'critical', 'pause', null);
    s = applyEmbedEvent(s, 4000, { kind: 'leak_warning', model: 'm', chunk: 5, slopeMB: 12.34, driftMB: 61.7, units: 5, recycle: false, worker: 'w0' });
    s = applyEmbedEvent(s, 5000, { kind: 'leak_warning', model: 'm', chunk: 9, slopeMB: 20, driftMB: 400, units: 9, recycle: true, worker: 'w0' });
    s = applyEmbedEvent(s, 6000, { kind: 'runtime_hung', pid: 7, silentS: 4.2, timeoutS: 3, model: 'm', chunk: 1, inARow: 1, giveUp: false, worker: 'w1' });
    s = applyEmbedEvent(s, 7000, { kind: 'worker', worker: 'w1', device: 'cpu', phase: 'restarted', pid: 8, reason: 'hung', attempt: 1 });
    s = applyEmbedEvent(s, 8000, { kind: 'worker', worker: 'w1', device: 'cpu', phase: 'given_up', pid: null, reason: 'died 3 times in a row', attempt: 3 });
    s = applyEmbedEvent(s, 8500, { kind: 'worker', worker: 'w0', device: 'cpu', phase: 'started', pid: 9, reason: null, attempt: 0 });
    expect(s.incidents.map((i) => [i.t, i.kind, i.worker])).toEqual([
      [1, 'warning', 'w1'],
      [2, 'critical', 'w1'],
      [3, 'critical', 'w1'],
      [4, 'leak', 'w0'],
      [5, 'recycle', 'w0'],
      [6, 'hung', 'w1'],
      [7, 'restarted', 'w1'],
      [8, 'given_up', 'w1'],
    ]); // a worker's start is no incident: the log says it
    const words = s.incidents.map((i) => i.words);
    // the event's chunk is the journal's index (0-based); the words count from 1, as the progress line does
    expect(words[0]).toBe('VRAM warning: 87% of 1000 B in use (m, chunk 4): nothing done below the critical level');
    expect(words[1]).toBe('VRAM critical: 87% of 1000 B in use (m, chunk 4): budget shrunk to 2,048 tokens, cache released');
    expect(words[2]).toMatch(/: run paused$/);
    expect(words[3]).toBe('leak warning: the memory baseline rises 12.3 MB per unit over 5 units (62 MB in all)');
    expect(words[4]).toMatch(/past the limit, a fresh worker takes over$/);
    expect(words[6]).toBe('restarted on cpu (hung): pid 8');
    expect(words[7]).toBe('given up on cpu (died 3 times in a row); the other workers go on');
    expect(s.log.map((entry) => entry.line)).toContain('w1: VRAM warning: 87% of 1000 B in use (m, chunk 4): nothing done below the critical level');
    expect(s.log.at(-1)!.line).toBe('w0 on cpu started (pid 9)');
  });

  it('a finished run’s incidents come back from its history', () => {
    const events = [
      { seq: 1, at: 1000, event: { kind: 'vram_level', model: 'm', chunk: 0, level: 'critical', used: 960, total: 1000, action: 'shrink', budget: 100 } },
      { seq: 2, at: 2000, event: { kind: 'paused', reason: 'VRAM critical (96%)' } },
    ];
    const s = seriesFromHistory({ events, counts: {} });
    expect(s.incidents.map((i) => [i.kind, i.worker])).toEqual([['critical', null]]);
    expect(s.log.at(-1)!.line).toBe('paused: VRAM critical (96%)');
  });
});
