import { describe, expect, it } from 'vitest';
import { checkCall, CALL_NAMES } from '../../src/contract/api.js';
import { GpuMonitor, parseNvidiaSmi } from '../../src/panel/gpuMonitor.js';
import { defaultRunsDir } from '../../src/runs/runsDir.js';

describe('the GPU monitor', () => {
  it('reads nvidia-smi CSV rows into bytes and percent', () => {
    const csv = '0, NVIDIA GeForce RTX 4090, 1024, 24564, 37\n1, Tesla T4, 15000, 15360, [N/A]\ngarbage line\n';
    expect(parseNvidiaSmi(csv)).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 4090', memoryUsed: 1024 * 2 ** 20, memoryTotal: 24564 * 2 ** 20, utilization: 37 },
      { index: 1, name: 'Tesla T4', memoryUsed: 15000 * 2 ** 20, memoryTotal: 15360 * 2 ** 20, utilization: null },
    ]);
  });

  it('says plainly when there is no NVIDIA GPU, with system memory', async () => {
    const sample = await new GpuMonitor(() => [], 'nvidia-smi-that-does-not-exist').read();
    expect(sample.gpus).toEqual([]);
    expect(sample.note).toMatch(/^no NVIDIA GPU found \(nvidia-smi is not installed\)$/);
    expect(sample.system.memoryTotal).toBeGreaterThan(0);
  });
});

describe('the API contract', () => {
  it('checks every call by name and arguments', () => {
    expect(CALL_NAMES).toContain('startRun');
    expect(() => checkCall('constructor', {})).toThrow(/unknown call "constructor"/);
    expect(() => checkCall('setPolicy', { runId: 'a', oom: 'explode' })).toThrow(/setPolicy: oom/);
    expect(checkCall('startRun', { input: 'x.jsonl', models: [{ model: 'm' }] }).args).toMatchObject({ ensembleMode: 'simultaneous', chunkSize: 1000, batchSize: 'auto' });
    expect(() => checkCall('startRun', { input: 'x', models: [{ model: 'm' }], minBatch: 64, maxBatch: 8 })).toThrow(/floor \(min batch\) is above the ceiling/);
  });
});

describe('the runs folder', () => {
  it('is --runs-dir, else HEADROOM_RUNS_DIR, else the per-user data folder', () => {
    expect(defaultRunsDir({ HEADROOM_RUNS_DIR: '/r' }, 'linux')).toBe('/r');
    expect(defaultRunsDir({ XDG_DATA_HOME: '/x' }, 'linux')).toBe('/x/headroom/runs');
    expect(defaultRunsDir({ APPDATA: 'C:/Users/u/AppData/Roaming' }, 'win32')).toMatch(/Headroom[\\/]runs$/);
    expect(defaultRunsDir({}, 'darwin')).toMatch(/Library\/Application Support\/Headroom\/runs$/);
  });
});
