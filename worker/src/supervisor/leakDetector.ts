/**
 * The leak detector: pure. It reads a worker's memory baselines (measured by the
 * runtime after clean-up between units of work: memory.baseline in core/memory.py)
 * and says two things:
 *
 * - a leak warning, when the baselines keep rising: the Theil-Sen slope (the median
 *   of the slopes between every pair of points, so a spike or two cannot make or
 *   hide a trend) over the last WINDOW units is above `slopeMB` per unit, and the
 *   rise it implies over those units is above `riseMB` (so a flat noisy series and
 *   a short one stay quiet);
 * - a recycle, when the baseline now is more than `recycleMB` above the first one of
 *   this worker: in-process clean-up is not giving memory back, a fresh process does.
 *
 * Nothing here knows about embedding: a unit is whatever the caller counts (a chunk,
 * a pass, a trial), so the trials' workers can feed it too.
 */

const MB = 1024 * 1024;

export interface LeakLimits {
  /** Slope (MB per unit) above which a rising baseline is a leak. */
  slopeMB: number;
  /** Rise (MB) the slope must amount to over the window before it is believed. */
  riseMB: number;
  /** Baselines needed before any warning. */
  minUnits: number;
  /** Drift (MB above this worker's first baseline) past which the worker is recycled. */
  recycleMB: number;
}

/** Baselines the slope is fitted over: the last units, so an old warm-up does not count. */
export const WINDOW = 12;

/** Defaults. HEADROOM_LEAK_RECYCLE_MB: 1024 MB on CUDA (a fifth of a 16 GB card's headroom after a model), 2048 MB of RSS on CPU (the allocator returns freed pages lazily). */
export const DEFAULT_LIMITS = { slopeMB: 4, riseMB: 32, minUnits: 6, recycleMB: { cuda: 1024, cpu: 2048 } } as const;

const positive = (value: string | undefined): number | undefined => {
  const n = value === undefined || value.trim() === '' ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/** The limits for a worker on `device`, from the environment: HEADROOM_LEAK_RECYCLE_MB, HEADROOM_LEAK_SLOPE_MB. */
export function leakLimits(env: Partial<Record<string, string>>, device: string): LeakLimits {
  const recycle = positive(env.HEADROOM_LEAK_RECYCLE_MB) ?? (device.startsWith('cuda') ? DEFAULT_LIMITS.recycleMB.cuda : DEFAULT_LIMITS.recycleMB.cpu);
  return { slopeMB: positive(env.HEADROOM_LEAK_SLOPE_MB) ?? DEFAULT_LIMITS.slopeMB, riseMB: DEFAULT_LIMITS.riseMB, minUnits: DEFAULT_LIMITS.minUnits, recycleMB: recycle };
}

/** The leak detector's own variables of an environment (what a pure reducer is handed). */
export function pickLeakEnv(env: NodeJS.ProcessEnv): Partial<Record<'HEADROOM_LEAK_RECYCLE_MB' | 'HEADROOM_LEAK_SLOPE_MB', string>> {
  const picked: Partial<Record<'HEADROOM_LEAK_RECYCLE_MB' | 'HEADROOM_LEAK_SLOPE_MB', string>> = {};
  if (env.HEADROOM_LEAK_RECYCLE_MB !== undefined) picked.HEADROOM_LEAK_RECYCLE_MB = env.HEADROOM_LEAK_RECYCLE_MB;
  if (env.HEADROOM_LEAK_SLOPE_MB !== undefined) picked.HEADROOM_LEAK_SLOPE_MB = env.HEADROOM_LEAK_SLOPE_MB;
  return picked;
}

/** The Theil-Sen slope of ys over their positions (units 0, 1, 2, ...): the median pairwise slope. */
export function theilSen(ys: readonly number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < ys.length; i += 1) for (let j = i + 1; j < ys.length; j += 1) slopes.push((ys[j]! - ys[i]!) / (j - i));
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

export interface LeakVerdict {
  /** MB per unit over the window (0 with fewer than two baselines; no warning before minUnits). */
  slopeMB: number;
  /** MB now above the first baseline. */
  driftMB: number;
  /** Units the slope was fitted over. */
  units: number;
  leaking: boolean;
  recycle: boolean;
}

/** What a series of baselines (bytes, oldest first, one per unit) says. */
export function judgeBaselines(baselines: readonly number[], limits: LeakLimits): LeakVerdict {
  const window = baselines.slice(-WINDOW).map((bytes) => bytes / MB);
  const first = baselines[0];
  const last = baselines.at(-1);
  const driftMB = first === undefined || last === undefined ? 0 : (last - first) / MB;
  const enough = window.length >= limits.minUnits;
  const slopeMB = theilSen(window);
  const leaking = enough && slopeMB > limits.slopeMB && slopeMB * (window.length - 1) > limits.riseMB;
  return { slopeMB, driftMB, units: window.length, leaking, recycle: driftMB > limits.recycleMB };
}
