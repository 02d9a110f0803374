import { beforeEach, describe, expect, it } from 'vitest';
import { RunEvent, RunInfo } from '../../../worker/src/contract/api.ts';
import { EMBED_KIND, EmbedEvent, EmbedRunInfo } from '../../../worker/src/contract/jobs/embed.ts';
import { applyEmbedEvent, embedSeriesOf, emptySeries, type RunSeries } from '../../src/store/embed.ts';
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
    expect(s.passes).toEqual([{ model: 'm', device: 'cpu', phase: 'completed', ms: 5000, rows: 600, residentPeak: 2e8 }]); // the started row gave way
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
