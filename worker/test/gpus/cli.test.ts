/** `headroom gpus` against the fake nvidia-smi: the table, --json (a GpuSample), bad flags. */
import { describe, expect, it } from 'vitest';
import { GpuSample } from '../../src/contract/api.js';
import { cli } from '../helpers.js';
import { scenario, T4 } from './fakeSmi.js';

describe('headroom gpus', () => {
  const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 1000) + T4(1, 'GPU-one', 4) }], apps: [{ stdout: 'GPU-zero, 999999, 900\n' }] });

  it('--json prints the GpuSample', async () => {
    const result = await cli(['gpus', '--json'], fake.env);
    expect(result.exitCode).toBe(0);
    const sample = GpuSample.parse(JSON.parse(result.stdout));
    expect(sample.gpus.map((gpu) => gpu.uuid)).toEqual(['GPU-zero', 'GPU-one']);
    expect(sample.gpus[0]!.processes).toEqual([{ pid: 999999, memoryUsed: 900 * 2 ** 20, source: 'nvidia-smi', headroom: null }]);
  });

  it('prints a readable table by default', async () => {
    const result = await cli(['gpus'], fake.env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^GPU +NAME +MEMORY +UTIL +TEMP +POWER +UNACCOUNTED\n0 +Tesla T4 +1000 MiB \/ 15\.0 GiB +37% +45°C +28 W \/ 70 W/);
    expect(result.stdout).toMatch(/\n0 +999999 +900 MiB +nvidia-smi +\(not Headroom\)/);
  });

  it('a bad flag is a usage error, exit 2', async () => {
    const result = await cli(['gpus', '--every', '5'], fake.env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--every'/);
  });
});
