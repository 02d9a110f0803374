import { describe, expect, it } from 'vitest';
import { appendBounded, decimate, type Point } from '../src/decimate.ts';
import { applyEvent, WINDOW, type RunSeries } from '../src/store.ts';

const empty = (): RunSeries => ({ vram: [], total: null, batchDocs: [], tokensPerSecond: [], chunks: [], ooms: [], passes: [], log: [], batches: 0 });

describe('decimation', () => {
  it('draws a day of 1 Hz samples as at most 800 points and keeps every spike', () => {
    const day: Point[] = Array.from({ length: 86_400 }, (_, t) => ({ t, v: t === 51_234 ? 1e9 : 100 + (t % 7) }));
    const drawn = decimate(day);
    expect(drawn.length).toBeLessThanOrEqual(800);
    expect(Math.max(...drawn.map((p) => p.v))).toBe(1e9); // the OOM peak survives
    expect(drawn.every((p, i) => i === 0 || p.t >= drawn[i - 1]!.t)).toBe(true);
  });

  it('leaves short series alone', () => {
    const few = [{ t: 1, v: 2 }, { t: 2, v: 3 }];
    expect(decimate(few)).toEqual(few);
  });

  it('bounds the window, dropping the oldest first', () => {
    let list: number[] = [];
    for (let i = 0; i < 25; i += 1) list = appendBounded(list, i, 10);
    expect(list.length).toBeLessThanOrEqual(10);
    expect(list.at(-1)).toBe(24);
  });
});

describe('run series from Engine events', () => {
  it('charts memory, batches, tokens/s and chunks, and marks OOMs', () => {
    let s = empty();
    s = applyEvent(s, { runId: 'r', at: 1000, event: { kind: 'memory', allocated: 100, total: 1000, reserved: 100, free: 900, peak: 120 } });
    s = applyEvent(s, { runId: 'r', at: 2000, event: { kind: 'batch', docs: 32, tokens: 4000, padded: 4096, ms: 100, peak: null } });
    s = applyEvent(s, { runId: 'r', at: 3000, event: { kind: 'oom', model: 'm', chunk: 0, docs: 64, tokens: 8192, budget: 4096, action: 'retry' } });
    s = applyEvent(s, { runId: 'r', at: 4000, event: { kind: 'chunk', chunksDone: 1 } });
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
    let s: RunSeries = { ...empty(), vram: Array.from({ length: WINDOW }, (_, t) => ({ t, v: t })) };
    for (let i = 0; i < 50; i += 1) {
      s = applyEvent(s, { runId: 'r', at: (WINDOW + i) * 1000, event: { kind: 'memory', allocated: i, total: null } });
    }
    expect(s.vram.length).toBeLessThanOrEqual(WINDOW);
    expect(s.vram.at(-1)).toEqual({ t: WINDOW + 49, v: 49 });
    expect(s.vram[0]!.t).toBeGreaterThan(0); // the oldest went first
  });
});
