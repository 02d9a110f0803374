/**
 * The monitor's own history, <runs-dir>/.gpus/history.jsonl, so the GPUs view is
 * drawn from disk like a run's view. Written by runs/history.ts's HistoryWriter (the
 * one bounded writer of this repo): each sample is one compact `gpu` event, thinned
 * per time bucket to the samples holding each figure's minimum and maximum (memory
 * used and unaccounted per GPU, system memory in use), so a spike never vanishes.
 *
 * Bound: at most 2 x 1000 buckets whatever the length (buckets double in width and
 * the file is rewritten, tmp + rename), each keeping at most 2 x (2 x GPUs + 1)
 * samples, in practice 1 to 3: a day at 1 Hz on one GPU is about 1,400 buckets of
 * 64 s, a few hundred KB (bench/RESULTS.md). A torn or damaged line is skipped on
 * read and cut before the next append. One writer per runs folder: the Engine that
 * holds `<runs-dir>/.gpus/lock`; another one (a second panel) does not write.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuHistory, GpuPoint, GpuSample } from '../contract/api.js';
import { HistoryWriter, readHistory, type History, type HistoryEntry, type HistoryLimits, type SampleValues } from '../runs/history.js';
import { acquireLock, type RunLock } from '../runs/lock.js';

export const GPU_HISTORY_DIR = '.gpus';
export const gpuHistoryDir = (runsDir: string): string => join(runsDir, GPU_HISTORY_DIR);

/** What one sample leaves in the history: short keys, since a day holds thousands. */
interface CompactGpu {
  i: number;
  u: number;
  t: number;
  ut: number | null;
  c: number | null;
  w: number | null;
  x: number | null;
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const gpusOf = (event: Record<string, unknown>): Record<string, unknown>[] => (Array.isArray(event.g) ? event.g.filter((g): g is Record<string, unknown> => typeof g === 'object' && g !== null) : []);

/** The figures a bucket keeps the extremes of: used and unaccounted per GPU (by position), system memory. */
export const GPU_SAMPLES: SampleValues = {
  gpu: (event) => [...gpusOf(event).flatMap((g) => [num(g.u), num(g.x)]), num(event.s)],
};

export function compactSample(sample: GpuSample): { kind: 'gpu'; g: CompactGpu[]; s: number } {
  return {
    kind: 'gpu',
    g: sample.gpus.map((gpu) => ({ i: gpu.index, u: gpu.memoryUsed, t: gpu.memoryTotal, ut: gpu.utilization, c: gpu.temperature, w: gpu.power, x: gpu.unaccounted })),
    s: sample.system.memoryUsed,
  };
}

/** A history entry as a point; null for one that is not a gpu sample this code wrote. */
function pointOf(entry: HistoryEntry): GpuPoint | null {
  const event = entry.event as Record<string, unknown>;
  if (event.kind !== 'gpu') return null;
  const system = num(event.s);
  const gpus: GpuPoint['gpus'] = [];
  for (const g of gpusOf(event)) {
    const index = num(g.i);
    const used = num(g.u);
    const total = num(g.t);
    if (index === null || !Number.isInteger(index) || index < 0 || used === null || used < 0 || total === null || total < 0) continue;
    const unaccounted = num(g.x);
    gpus.push({ index, used, total, util: num(g.ut), temp: num(g.c), power: num(g.w), unaccounted: unaccounted !== null && unaccounted >= 0 ? unaccounted : null });
  }
  return { at: entry.at, gpus, system: system !== null && system >= 0 ? system : 0 };
}

export function historyPoints(history: History, sinceMs = 0): GpuHistory {
  const points = history.events.filter((entry) => entry.at >= sinceMs).flatMap((entry) => pointOf(entry) ?? []);
  points.sort((a, b) => a.at - b.at);
  return { points, bucketMs: history.bucketMs, bytes: history.bytes, skipped: history.skipped };
}

/** Reads the history from disk; an absent, odd or damaged file is an empty or partial history, never an error. */
export async function readGpuHistory(runsDir: string, sinceMs = 0): Promise<GpuHistory> {
  return historyPoints(await readHistory(gpuHistoryDir(runsDir)), sinceMs);
}

/** The writer: records samples while it holds the folder's lock; without it (another Engine writes) it records nothing. */
export class GpuHistoryWriter {
  private writer: HistoryWriter | null = null;
  private lock: RunLock | null = null;
  private tried = false;

  constructor(
    private readonly runsDir: string,
    private readonly limits: Partial<HistoryLimits> = {},
  ) {}

  /** Whether this Engine writes the history (it holds the lock). */
  get writing(): boolean {
    return this.writer !== null;
  }

  record(sample: GpuSample): void {
    if (!this.tried) this.open();
    this.writer?.record(compactSample(sample), sample.at);
  }

  private open(): void {
    this.tried = true;
    const dir = gpuHistoryDir(this.runsDir);
    try {
      mkdirSync(dir, { recursive: true });
      this.lock = acquireLock(join(dir, 'lock'), dir);
      this.writer = new HistoryWriter(dir, GPU_SAMPLES, this.limits);
    } catch {
      this.writer = null; // another Engine writes it (or the folder is not writable): this one only reads
    }
  }

  /** What the file holds plus the bucket not yet written. */
  snapshot(): History | null {
    return this.writer?.snapshot() ?? null;
  }

  close(): void {
    this.writer?.close();
    this.lock?.release();
    this.writer = null;
    this.lock = null;
  }
}
