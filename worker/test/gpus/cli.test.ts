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

  it('lists the 20 largest processes of a GPU and counts the rest (--json lists all); a process larger than its device has no figure, and the table says why', async () => {
    // pid 77 (among the small ones) claims more than the card: no figure, so listed whatever its place
    const apps = Array.from({ length: 1000 }, (_, i) => `GPU-zero, ${100000 + i}, ${1 + i}\n`).join('') + 'GPU-zero, 77, 30000\nGPU-one, 99, 20000\n';
    const many = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 15000) + T4(1, 'GPU-one', 15000) }], apps: [{ stdout: apps }] });
    const text = await cli(['gpus'], many.env);
    expect(text.exitCode, text.stderr).toBe(0);
    const rows = text.stdout.split('\n').filter((line) => /^0 +1\d{5} /.test(line));
    expect(rows.map((row) => Number(row.split(/ +/)[1]))).toEqual(Array.from({ length: 20 }, (_, i) => 100999 - i));
    expect(text.stdout).toContain('GPU 0: … and 980 more (headroom gpus --json lists all)');
    expect(text.stdout).toMatch(/\n1 +99 +— \(no figure\) +nvidia-smi/);
    expect(text.stdout).toMatch(/\n0 +77 +— \(no figure\) +nvidia-smi/);
    expect(text.stdout).toMatch(/\n0 +Tesla T4 .* — \(a process has no figure\)\n/);
    expect(text.stdout).toContain('no figure: nvidia-smi said N/A for the process, or as much memory as its whole device or more');
    const json = GpuSample.parse(JSON.parse((await cli(['gpus', '--json'], many.env)).stdout));
    expect(json.gpus[0]!.processes).toHaveLength(1001);
    expect(json.gpus[1]!.processes[0]!.memoryUsed).toBeNull();
  });

  it('a bad flag is a usage error, exit 2', async () => {
    const result = await cli(['gpus', '--every', '5'], fake.env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--every'/);
  });
});
