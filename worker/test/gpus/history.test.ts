/** The monitor's history file: bounded whatever the length, spikes kept, a torn last line never breaks reading. */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GpuSample } from '../../src/contract/api.js';
import { GpuHistoryWriter, gpuHistoryDir, readGpuHistory } from '../../src/panel/gpuHistory.js';
import { tempDir } from '../helpers.js';

const MIB = 1024 ** 2;
const T0 = Date.UTC(2026, 0, 1);

function sample(at: number, usedMiB: number): GpuSample {
  const gpu = { index: 0, uuid: 'GPU-zero', name: 'Tesla T4', memoryUsed: usedMiB * MIB, memoryTotal: 15360 * MIB, utilization: 50, temperature: 60, power: 30, powerLimit: 70, processes: [], processSource: 'nvidia-smi' as const, baseline: { bytes: 0, source: 'default' as const }, unaccounted: 0 };
  return { at, gpus: [gpu], note: null, system: { memoryUsed: 8 * 1024 * MIB, memoryTotal: 16 * 1024 * MIB }, runtimes: [], orphans: [], orphanNote: null };
}

describe("the monitor's history", () => {
  it('stays within its bound over a long watch and keeps a one-second spike', async () => {
    const runsDir = tempDir('headroom-runs-');
    const writer = new GpuHistoryWriter(runsDir, { bucketsMax: 50 });
    const n = 6_000;
    for (let i = 0; i < n; i += 1) writer.record(sample(T0 + i * 1000, i === 4321 ? 15000 : 1000 + (i % 7)));
    writer.close();
    const history = await readGpuHistory(runsDir);
    // At most 2 x 50 buckets, each keeping the samples with its figures' extremes (used, unaccounted, system): never near 6,000.
    expect(history.points.length).toBeLessThanOrEqual(2 * 50 * 6);
    expect(history.points.length).toBeGreaterThan(50);
    expect(history.bucketMs).toBeGreaterThanOrEqual(64_000);
    expect(history.points.some((point) => point.gpus[0]!.used === 15000 * MIB)).toBe(true);
    expect(history.points[0]).toMatchObject({ gpus: [{ index: 0, total: 15360 * MIB, util: 50, temp: 60, power: 30, unaccounted: 0 }], system: 8 * 1024 * MIB });
    expect(statSync(join(gpuHistoryDir(runsDir), 'history.jsonl')).size).toBeLessThan(200_000);
    const since = await readGpuHistory(runsDir, T0 + 5_000_000);
    expect(since.points.every((point) => point.at >= T0 + 5_000_000)).toBe(true);
  });

  it('a torn or garbled last line is skipped on reading and cut before the next append', async () => {
    const runsDir = tempDir('headroom-runs-');
    const first = new GpuHistoryWriter(runsDir);
    for (let i = 0; i < 10; i += 1) first.record(sample(T0 + i * 1000, 1000 + i));
    first.close();
    const file = join(gpuHistoryDir(runsDir), 'history.jsonl');
    appendFileSync(file, '{"seq":99,"at":1,"event":{"kind":"gpu","g":[{"i":0,"u":');
    const torn = await readGpuHistory(runsDir);
    expect(torn.skipped).toBe(1);
    expect(torn.points.length).toBe(10); // close() wrote the last bucket
    const second = new GpuHistoryWriter(runsDir);
    second.record(sample(T0 + 20_000, 2000));
    second.record(sample(T0 + 21_000, 2001));
    second.close();
    expect(readFileSync(file, 'utf8')).not.toContain('"u":\n');
    const after = await readGpuHistory(runsDir);
    expect(after.skipped).toBe(0);
    expect(after.points.map((point) => point.gpus[0]!.used / MIB)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 2000, 2001]);
  });

  it('an absent history is empty, never an error', async () => {
    expect(await readGpuHistory(tempDir('headroom-runs-'))).toEqual({ points: [], bucketMs: 1000, bytes: 0, skipped: 0 });
  });
});
