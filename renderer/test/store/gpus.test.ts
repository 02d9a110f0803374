import { beforeEach, describe, expect, it } from 'vitest';
import { GpuHistory, GpuPoint, GpuSample } from '../../../worker/src/contract/api.ts';
import { emptyGpuSeries, foldGpuPoints, gpuSeriesFromHistory, pointOfSample } from '../../src/store/gpus.ts';
import { useStore } from '../../src/store/index.ts';

const GIB = 1024 ** 3;
const point = (at: number, used0: number, used1: number | null = null): GpuPoint =>
  GpuPoint.parse({
    at,
    gpus: [{ index: 0, used: used0, total: 16 * GIB, util: 40, temp: 50, power: 30, unaccounted: used0 / 4 }, ...(used1 === null ? [] : [{ index: 1, used: used1, total: 16 * GIB, util: null, temp: null, power: null, unaccounted: null }])],
    system: 8 * GIB,
  });

const sample = (at: number, used: number): GpuSample =>
  GpuSample.parse({
    at,
    gpus: [
      {
        index: 0,
        uuid: 'GPU-0',
        name: 'Tesla T4',
        memoryUsed: used,
        memoryTotal: 16 * GIB,
        utilization: 37,
        temperature: 45,
        power: 27.5,
        powerLimit: 70,
        processes: [{ pid: 42, memoryUsed: used / 2, source: 'nvidia-smi', headroom: null }],
        processSource: 'nvidia-smi',
        baseline: { bytes: 0, source: 'default' },
        unaccounted: used / 2,
      },
    ],
    note: null,
    system: { memoryUsed: 4 * GIB, memoryTotal: 32 * GIB },
    runtimes: [],
    orphans: [],
    orphanNote: null,
  });

describe('the GPUs view series', () => {
  it('one line per GPU: memory, unaccounted (where known) and utilisation (where known), and system memory', () => {
    const s = foldGpuPoints(emptyGpuSeries(), [point(1000, 1 * GIB, 2 * GIB), point(2000, 3 * GIB, 4 * GIB)], 100);
    expect(s.gpus[0]!.used).toEqual([
      { t: 1, v: 1 * GIB },
      { t: 2, v: 3 * GIB },
    ]);
    expect(s.gpus[0]!.unaccounted.map((p) => p.v)).toEqual([GIB / 4, (3 * GIB) / 4]);
    expect(s.gpus[0]!.util.map((p) => p.v)).toEqual([40, 40]);
    expect(s.gpus[1]!.used.map((p) => p.v)).toEqual([2 * GIB, 4 * GIB]);
    expect(s.gpus[1]!.unaccounted).toEqual([]); // not known: not drawn as 0
    expect(s.gpus[1]!.util).toEqual([]);
    expect(s.system.map((p) => p.v)).toEqual([8 * GIB, 8 * GIB]);
    expect(s.lastAt).toBe(2000);
  });

  it('skips points already folded, and keeps each series within its bound', () => {
    let s = foldGpuPoints(emptyGpuSeries(), [point(1000, 1)], 10);
    expect(foldGpuPoints(s, [point(1000, 2)], 10)).toBe(s); // nothing new: the same object, no re-render
    for (let i = 2; i <= 40; i += 1) s = foldGpuPoints(s, [point(i * 1000, i)], 10);
    expect(s.gpus[0]!.used.length).toBeLessThanOrEqual(10);
    expect(s.gpus[0]!.used.at(-1)).toEqual({ t: 40, v: 40 });
  });

  it('a live sample is the point the monitor writes', () => {
    expect(pointOfSample(sample(5000, 2 * GIB))).toEqual({ at: 5000, gpus: [{ index: 0, used: 2 * GIB, total: 16 * GIB, util: 37, temp: 45, power: 27.5, unaccounted: GIB }], system: 4 * GIB });
  });

  it('the history from disk, then the live samples past its last point: no gap, no duplicate', () => {
    const live = foldGpuPoints(emptyGpuSeries(), [point(3000, 30), point(4000, 40), point(5000, 50)], 100);
    const history = GpuHistory.parse({ points: [point(1000, 10), point(2000, 20), point(4000, 40)], bucketMs: 1000, bytes: 100, skipped: 0 });
    const s = gpuSeriesFromHistory(history, live, 100);
    expect(s.gpus[0]!.used.map((p) => p.t)).toEqual([1, 2, 4, 5]);
    expect(s.lastAt).toBe(5000);
  });
});

describe('the store', () => {
  beforeEach(() => useStore.setState(useStore.getInitialState(), true));

  it('draws live samples, and the history loaded later goes before them', () => {
    useStore.getState().onGpu(sample(10_000, 5 * GIB));
    useStore.getState().onGpu(sample(11_000, 6 * GIB));
    useStore.getState().loadGpuHistory(GpuHistory.parse({ points: [point(8000, GIB), point(9000, 2 * GIB), point(10_000, 5 * GIB)], bucketMs: 1000, bytes: 1, skipped: 0 }));
    expect(useStore.getState().gpuSeries.gpus[0]!.used.map((p) => [p.t, p.v / GIB])).toEqual([
      [8, 1],
      [9, 2],
      [10, 5],
      [11, 6],
    ]);
    useStore.getState().onGpu(sample(12_000, 7 * GIB));
    expect(useStore.getState().gpuSeries.gpus[0]!.used.at(-1)).toEqual({ t: 12, v: 7 * GIB });
    expect(useStore.getState().gpu?.at).toBe(12_000);
  });
});
