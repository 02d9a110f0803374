import { describe, expect, it } from 'vitest';
import { GpuMonitor, parseNvidiaSmi } from '../../src/panel/gpuMonitor.js';

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
