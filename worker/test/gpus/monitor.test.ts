/**
 * The monitor against a fake nvidia-smi on PATH that replays recorded outputs: one and
 * two GPUs, processes (one a real Headroom runtime, mapped to its run), N/A values, a
 * driver failure, a hang, a GPU that vanishes between samples, a missing binary,
 * garbled output, and unaccounted memory (the container fallback included).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GpuSample } from '../../src/contract/api.js';
import { GpuMonitor, type RuntimeFigures } from '../../src/panel/gpuMonitor.js';
import { RuntimeProcess, runEnv } from '../../src/supervisor/runtimeProcess.js';
import { tempDir } from '../helpers.js';
import { MIB, scenario, T4 } from './fakeSmi.js';

const monitorOf = (env: NodeJS.ProcessEnv, runtimes: RuntimeFigures[] = [], timeoutMs?: number): GpuMonitor => new GpuMonitor(() => [...runtimes], { env, timeoutMs });
const NO_APPS = { stdout: 'No running processes found\n' };

describe('the GPU monitor against a fake nvidia-smi', () => {
  let runtime: RuntimeProcess | undefined;
  afterEach(async () => {
    runtime?.kill();
    await runtime?.exited;
    runtime = undefined;
  });

  it('one GPU, idle: its figures, no process, the baseline learned and nothing unaccounted', async () => {
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-one', 4) }], apps: [NO_APPS] });
    const sample = await monitorOf(fake.env).read();
    expect(GpuSample.parse(sample)).toEqual(sample);
    expect(sample.note).toBeNull();
    expect(sample.gpus).toHaveLength(1);
    expect(sample.gpus[0]).toMatchObject({ index: 0, uuid: 'GPU-one', name: 'Tesla T4', memoryUsed: 4 * MIB, memoryTotal: 15360 * MIB, utilization: 37, temperature: 45, power: 27.5, powerLimit: 70, processes: [], processSource: 'nvidia-smi', baseline: { bytes: 4 * MIB, source: 'learned' }, unaccounted: 0 });
  });

  it("two GPUs with processes, one a real Headroom runtime mapped to its run; unaccounted = used - processes - baseline; N/A values are null", async () => {
    const runDir = join(tempDir('headroom-runs-'), 'embed-20260101-000000-abcd');
    runtime = RuntimeProcess.start({ env: runEnv(runDir, { ...process.env, HEADROOM_WORKER: 'w1' }) });
    await runtime.handshake();
    const pid = runtime.pid;
    // First an idle sample (baselines 3 and 5 MiB learned), then the processes arrive.
    const fake = scenario({
      gpu: [{ stdout: T4(0, 'GPU-zero', 3) + T4(1, 'GPU-one', 5, '[N/A], [N/A], [Not Supported], N/A') }, { stdout: T4(0, 'GPU-zero', 3000) + T4(1, 'GPU-one', 1205, '[N/A], [N/A], [Not Supported], N/A') }],
      apps: [NO_APPS, { stdout: `GPU-zero, ${pid}, 2000\nGPU-zero, 999999, 500\nGPU-one, 424242, 1000\n` }],
    });
    const figures: RuntimeFigures = { runId: 'embed-20260101-000000-abcd', pid, device: 'cuda:0', worker: 'w1', allocated: 1500 * MIB, reserved: 1800 * MIB, peak: 1900 * MIB };
    const live: RuntimeFigures[] = [];
    const monitor = monitorOf(fake.env, live);
    await monitor.read(); // before the run: an idle GPU, its baseline learned
    live.push(figures);
    const sample = await monitor.read();
    expect(fake.calls('gpu')).toBe(2);
    const [zero, one] = sample.gpus;
    expect(zero!.processes).toEqual([
      { pid, memoryUsed: 2000 * MIB, source: 'nvidia-smi', headroom: { runId: 'embed-20260101-000000-abcd', role: 'runtime', worker: 'w1', orphan: false } },
      { pid: 999999, memoryUsed: 500 * MIB, source: 'nvidia-smi', headroom: null },
    ]);
    expect(zero!.baseline).toEqual({ bytes: 3 * MIB, source: 'learned' });
    expect(zero!.unaccounted).toBe((3000 - 2000 - 500 - 3) * MIB);
    expect(one).toMatchObject({ utilization: null, temperature: null, power: null, powerLimit: null, unaccounted: (1205 - 1000 - 5) * MIB });
    expect(sample.runtimes).toEqual([figures]);
    expect(sample.orphans.filter((entry) => entry.pid === pid)).toEqual([]); // its run is live in this Engine (other tests' processes may be listed)
    expect(() => monitor.killOrphan(pid)).toThrow(/not one the monitor lists as a Headroom orphan: nothing was killed/);
  });

  it("a container (memory used, no process rows): the workers' own torch figures stand in, labelled so", async () => {
    const runDir = join(tempDir('headroom-runs-'), 'embed-20260101-000000-cont');
    runtime = RuntimeProcess.start({ env: runEnv(runDir) });
    await runtime.handshake();
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 2600) }], apps: [NO_APPS] });
    const figures: RuntimeFigures = { runId: 'embed-20260101-000000-cont', pid: runtime.pid, device: 'cuda:0', worker: null, allocated: 1500 * MIB, reserved: 2048 * MIB, peak: 2100 * MIB };
    const sample = await monitorOf(fake.env, [figures]).read();
    const gpu = sample.gpus[0]!;
    expect(gpu.processSource).toBe('torch');
    expect(gpu.processes).toEqual([{ pid: runtime.pid, memoryUsed: 2048 * MIB, source: 'torch', headroom: { runId: 'embed-20260101-000000-cont', role: 'runtime', worker: null, orphan: false } }]);
    // No idle sample yet: the default baseline (0), so what the worker's torch figure leaves (its CUDA context among it) is unaccounted.
    expect(gpu.baseline).toEqual({ bytes: 0, source: 'default' });
    expect(gpu.unaccounted).toBe((2600 - 2048) * MIB);
  });

  it('never takes a device total for a process, and a process without a figure makes unaccounted unknown', async () => {
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 15000) }], apps: [{ stdout: 'GPU-zero, 31337, 15360\nGPU-zero, 31338, [N/A]\n' }] });
    const gpu = (await monitorOf(fake.env).read()).gpus[0]!;
    expect(gpu.processes.map((process) => process.memoryUsed)).toEqual([null, null]);
    expect(gpu.unaccounted).toBeNull();
  });

  it('a driver that cannot be reached: no GPU, its words, system memory; never a throw', async () => {
    const words = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";
    const fake = scenario({ gpu: [{ stdout: words, code: 9 }], apps: [{ stdout: words, code: 9 }] });
    const sample = await monitorOf(fake.env).read();
    expect(sample.gpus).toEqual([]);
    expect(sample.note).toBe(`no GPU figures: nvidia-smi failed (exit 9): ${words.trim()}`);
    expect(sample.system.memoryTotal).toBeGreaterThan(0);
  });

  it('a hang: nvidia-smi is killed at the timeout and the sample says so', async () => {
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 1), sleepMs: 60_000 }], apps: [NO_APPS] });
    const sample = await monitorOf(fake.env, [], 500).read();
    expect(sample.gpus).toEqual([]);
    expect(sample.note).toMatch(/^no GPU figures: nvidia-smi did not answer within 1 s and was killed \(the driver may be hung\)$/);
  });

  it('a GPU that vanishes between samples is said in words, and the other one goes on', async () => {
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 10) + T4(1, 'GPU-one', 10) }, { stdout: T4(0, 'GPU-zero', 10) }], apps: [NO_APPS] });
    const monitor = monitorOf(fake.env);
    expect((await monitor.read()).note).toBeNull();
    const after = await monitor.read();
    expect(after.gpus.map((gpu) => gpu.uuid)).toEqual(['GPU-zero']);
    expect(after.note).toBe('GPU 1 (Tesla T4) is no longer listed by nvidia-smi (it fell off the bus, was reset or was taken away)');
  });

  it('garbled output: unreadable lines are skipped and counted, readable ones kept', async () => {
    const fake = scenario({ gpu: [{ stdout: `\u0000\u0001binary junk\n${T4(0, 'GPU-zero', 10)}0, GPU-x, half a row\n` }], apps: [{ stdout: 'GPU-zero, notapid, 12\n' }] });
    const sample = await monitorOf(fake.env).read();
    expect(sample.gpus.map((gpu) => gpu.uuid)).toEqual(['GPU-zero']);
    expect(sample.note).toBe("2 line(s) of nvidia-smi's GPU list could not be read and were skipped; 1 line(s) of nvidia-smi's process list could not be read and were skipped");
  });

  it('no nvidia-smi at all: says there is no NVIDIA GPU, plainly', async () => {
    const sample = await new GpuMonitor(() => [], 'nvidia-smi-that-does-not-exist').read();
    expect(sample.gpus).toEqual([]);
    expect(sample.note).toBe('no NVIDIA GPU found (nvidia-smi is not installed)');
    expect(sample.system.memoryTotal).toBeGreaterThan(0);
  });
});
