/**
 * The first GPU monitor: nvidia-smi queried at 1 Hz in CSV form, merged with
 * the runtimes' own memory figures. On a machine without an NVIDIA GPU it says so
 * plainly and reports system memory. (Thresholds, leak detection and several GPUs
 * in detail come later; the sample's shape leaves room for them.)
 */
import { freemem, totalmem } from 'node:os';
import { execa } from 'execa';
import type { GpuSample } from '../contract/api.js';

const QUERY = ['--query-gpu=index,name,memory.used,memory.total,utilization.gpu', '--format=csv,noheader,nounits'];
const MIB = 1024 ** 2;
const EVERY_MS = 1000;

/** Parses nvidia-smi's CSV rows (memory in MiB) into bytes; rows it cannot read are skipped. */
export function parseNvidiaSmi(csv: string): GpuSample['gpus'] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length === 5 && /^\d+$/.test(fields[0]!))
    .map(([index, name, used, total, util]) => ({
      index: Number(index),
      name: name!,
      memoryUsed: Number(used) * MIB,
      memoryTotal: Number(total) * MIB,
      utilization: /^\d+(\.\d+)?$/.test(util!) ? Number(util) : null,
    }));
}

type Runtimes = () => GpuSample['runtimes'];

export class GpuMonitor {
  private timer: NodeJS.Timeout | undefined;
  private sample: GpuSample;
  private readonly listeners = new Set<(sample: GpuSample) => void>();

  constructor(
    private readonly runtimes: Runtimes,
    private readonly command = 'nvidia-smi',
  ) {
    this.sample = { at: Date.now(), gpus: [], note: 'not sampled yet', system: systemMemory(), runtimes: [] };
  }

  on(listener: (sample: GpuSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): GpuSample {
    return { ...this.sample, runtimes: this.runtimes() };
  }

  start(): void {
    const tick = async (): Promise<void> => {
      this.sample = await this.read();
      for (const listener of this.listeners) listener(this.sample);
      if (this.timer) this.timer = setTimeout(() => void tick(), EVERY_MS);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  async read(): Promise<GpuSample> {
    const base = { at: Date.now(), system: systemMemory(), runtimes: this.runtimes() };
    try {
      const result = await execa(this.command, QUERY, { timeout: 3000, reject: false });
      if (result.failed || result.exitCode !== 0) {
        const why = (result as { code?: string }).code === 'ENOENT' ? 'nvidia-smi is not installed' : `nvidia-smi failed: ${String(result.stderr || result.stdout).trim().slice(0, 200)}`;
        return { ...base, gpus: [], note: `no NVIDIA GPU found (${why})` };
      }
      const gpus = parseNvidiaSmi(String(result.stdout));
      return { ...base, gpus, note: gpus.length ? null : 'no NVIDIA GPU found (nvidia-smi lists none)' };
    } catch (error) {
      return { ...base, gpus: [], note: `no NVIDIA GPU found (${error instanceof Error ? error.message : String(error)})` };
    }
  }
}

function systemMemory(): GpuSample['system'] {
  return { memoryUsed: totalmem() - freemem(), memoryTotal: totalmem() };
}
