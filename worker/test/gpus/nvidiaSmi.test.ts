import { describe, expect, it } from 'vitest';
import { figure, parseApps, parseGpus } from '../../src/panel/nvidiaSmi.js';

const MIB = 1024 ** 2;

describe("nvidia-smi's CSV", () => {
  it('reads GPU rows into bytes, percent, degrees and watts; N/A forms are null; garbled rows are skipped and counted', () => {
    const csv = [
      '0, GPU-aaaa, NVIDIA GeForce RTX 4090, 1024, 24564, 37, 51, 120.50, 450.00',
      '1, GPU-bbbb, Tesla T4, 15000, 15360, [N/A], [Not Supported], N/A, [N/A]',
      'garbage line',
      '2, GPU-cccc, Broken, [N/A], 16384, 1, 2, 3, 4',
      '3, GPU-dddd, Short row, 1, 2',
      '',
    ].join('\n');
    const { gpus, skipped } = parseGpus(csv);
    expect(gpus).toEqual([
      { index: 0, uuid: 'GPU-aaaa', name: 'NVIDIA GeForce RTX 4090', memoryUsed: 1024 * MIB, memoryTotal: 24564 * MIB, utilization: 37, temperature: 51, power: 120.5, powerLimit: 450 },
      { index: 1, uuid: 'GPU-bbbb', name: 'Tesla T4', memoryUsed: 15000 * MIB, memoryTotal: 15360 * MIB, utilization: null, temperature: null, power: null, powerLimit: null },
    ]);
    expect(skipped).toBe(3);
  });

  it('skips rows no GPU could print: a repeated index, more used than its total, a total past 16 TiB', () => {
    const csv = [
      '0, GPU-aaaa, T4, 1000, 15360, 1, 40, 20, 70',
      '0, GPU-aaaa, T4, 2000, 15360, 1, 40, 20, 70',
      '1, GPU-bbbb, T4, 16000, 15360, 1, 40, 20, 70',
      '2, GPU-cccc, T4, 1000, 99999999999999999999, 1, 40, 20, 70',
    ].join('\n');
    const { gpus, skipped } = parseGpus(csv);
    expect(gpus.map((gpu) => [gpu.index, gpu.memoryUsed / MIB])).toEqual([[0, 1000]]);
    expect(skipped).toBe(3);
  });

  it('reads process rows; [N/A] memory is null; "No running processes found" is no row and no damage', () => {
    expect(parseApps('GPU-aaaa, 4242, 812\nGPU-bbbb, 77, [N/A]\nnonsense\n')).toEqual({
      apps: [
        { gpuUuid: 'GPU-aaaa', pid: 4242, memoryUsed: 812 * MIB },
        { gpuUuid: 'GPU-bbbb', pid: 77, memoryUsed: null },
      ],
      skipped: 1,
    });
    expect(parseApps('No running processes found\n')).toEqual({ apps: [], skipped: 0 });
  });

  it('takes only finite numbers as figures', () => {
    expect([figure('12'), figure('12.5'), figure('N/A'), figure('[N/A]'), figure('[Not Supported]'), figure('1e9'), figure(''), figure(undefined)]).toEqual([12, 12.5, null, null, null, null, null, null]);
  });
});
