/**
 * The GPU monitor's cost (issue 14): CPU % of the Engine process with the monitor at
 * 1 Hz against the fake nvidia-smi (worker/test/fixtures/fake-nvidia-smi, two GPUs, a
 * few processes), over --seconds; and the cost of drawing the GPUs view from a day of
 * history: a history file fed 86,400 one-second samples, then read back (gpuHistory)
 * and decimated to what a chart draws (renderer/src/charts/decimate.ts).
 *
 *   npx tsx bench/monitor.ts [--seconds 30]
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decimate } from '../renderer/src/charts/decimate.ts';
import type { GpuSample } from '../worker/src/contract/api.js';
import { GpuHistoryWriter, gpuHistoryDir, readGpuHistory } from '../worker/src/panel/gpuHistory.js';
import { GpuMonitor } from '../worker/src/panel/gpuMonitor.js';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const seconds = arg('seconds', 30);
const MIB = 1024 ** 2;

async function monitorCpu(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-smi-'));
  const scenario = join(dir, 'scenario.json');
  const row = (i: number, used: number): string => `${i}, GPU-${i}, Tesla T4, ${used}, 15360, 37, 45, 27.5, 70.0\n`;
  writeFileSync(scenario, JSON.stringify({ gpu: [{ stdout: row(0, 9000) + row(1, 4000) }], apps: [{ stdout: 'GPU-0, 4242, 8000\nGPU-0, 4343, 500\nGPU-1, 4444, 3500\n' }] }));
  const env = { ...process.env, FAKE_SMI_SCENARIO: scenario, PATH: `${join(REPO_ROOT, 'worker', 'test', 'fixtures', 'fake-nvidia-smi')}:${process.env.PATH ?? ''}` };
  const runsDir = mkdtempSync(join(tmpdir(), 'headroom-bench-runs-'));
  const monitor = new GpuMonitor(() => [], { env, history: new GpuHistoryWriter(runsDir) });
  let samples = 0;
  monitor.on(() => (samples += 1));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  monitor.start();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  monitor.stop();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const pct = (100 * (cpu.user + cpu.system)) / 1000 / wall;
  console.log(`monitor at 1 Hz: ${samples} samples in ${(wall / 1000).toFixed(1)} s; Engine CPU ${pct.toFixed(2)}% of one core (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms; the fake nvidia-smi's own processes not counted)`);
}

function sampleAt(at: number, i: number): GpuSample {
  const used = (1000 + 500 * Math.sin(i / 600) + (i % 3600 === 0 ? 9000 : 0)) * MIB;
  const gpu = { index: 0, uuid: 'GPU-0', name: 'Tesla T4', memoryUsed: Math.round(used), memoryTotal: 15360 * MIB, utilization: i % 100, temperature: 60, power: 30, powerLimit: 70, processes: [], processSource: 'nvidia-smi' as const, baseline: { bytes: 0, source: 'learned' as const }, unaccounted: 0 };
  return { at, gpus: [gpu], note: null, system: { memoryUsed: 8 * 1024 * MIB, memoryTotal: 16 * 1024 * MIB }, runtimes: [], orphans: [], orphanNote: null };
}

async function dayOfHistory(): Promise<void> {
  const runsDir = mkdtempSync(join(tmpdir(), 'headroom-bench-runs-'));
  const writer = new GpuHistoryWriter(runsDir);
  const t0 = Date.UTC(2026, 0, 1);
  const w0 = performance.now();
  for (let i = 0; i < 86_400; i += 1) writer.record(sampleAt(t0 + i * 1000, i));
  writer.close();
  const writeMs = performance.now() - w0;
  const bytes = statSync(join(gpuHistoryDir(runsDir), 'history.jsonl')).size;
  const times: number[] = [];
  let points = 0;
  let drawn = 0;
  for (let rep = 0; rep < 20; rep += 1) {
    const r0 = performance.now();
    const history = await readGpuHistory(runsDir);
    const series = history.points.map((point) => ({ t: point.at / 1000, v: point.gpus[0]?.used ?? point.system }));
    drawn = decimate(series).length;
    times.push(performance.now() - r0);
    points = history.points.length;
  }
  times.sort((a, b) => a - b);
  console.log(`a day of history (86,400 samples at 1 Hz, 1 GPU): file ${(bytes / 1024).toFixed(0)} KB, ${points} points kept, ${drawn} drawn; writing the day took ${(writeMs / 1000).toFixed(1)} s in all (${((writeMs / 86_400) * 1000).toFixed(0)} µs per sample)`);
  console.log(`read + decimate: median ${times[10]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms over 20 reads`);
}

await monitorCpu();
await dayOfHistory();
