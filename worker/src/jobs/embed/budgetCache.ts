/**
 * The per-user cache of learned token budgets, so the next run of the same model,
 * dtype, device, max length and free-memory bucket starts where the last one ended
 * instead of probing. Another model (other files under the same name included: the
 * key holds the model's fingerprint) or device never inherits a budget, and a run
 * under injected faults never teaches one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { RuntimeEvent } from '../../contract/protocol.js';
import { writeFileAtomic } from '../../runs/atomicFile.js';

const GIB = 1024 ** 3;
const FREE_BUCKET_GIB = 2;

const CacheFile = z.object({
  version: z.literal(1),
  budgets: z.record(z.string(), z.object({ budget: z.number().int().positive(), updatedAt: z.string() })),
});
type CacheFile = z.infer<typeof CacheFile>;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HEADROOM_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'headroom');
}

export const budgetCachePath = (env: NodeJS.ProcessEnv = process.env): string => join(cacheDir(env), 'budgets.json');

/** The runtime's test-only switches (python-runtime/headroom_runtime/embed/faults.py, embed/chunk_file.py). */
const FAULT_PREFIX = 'HEADROOM_FAULT_';

/** True when the runtime runs with a fault switch set: what it learns is not the device's. */
export function faultInjection(env: NodeJS.ProcessEnv): boolean {
  return Object.entries(env).some(([name, value]) => name.startsWith(FAULT_PREFIX) && value !== undefined && value !== '');
}

/**
 * The key a budget is learned under: the model's name and fingerprint (its files),
 * dtype, device, max length; GPU budgets also by free memory in 2 GiB buckets.
 */
export function budgetKey(loaded: RuntimeEvent<'pass_started'>, fingerprint: string): string {
  const bucket =
    loaded.capacity === null || loaded.free === null
      ? 'cpu'
      : `free${Math.floor(loaded.free / GIB / FREE_BUCKET_GIB) * FREE_BUCKET_GIB}GiB`;
  return [loaded.name, fingerprint.slice(0, 16), loaded.dtype, loaded.deviceName, `len${loaded.maxSeqLen}`, bucket].join('|');
}

function read(path: string): CacheFile {
  try {
    const parsed = CacheFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    /* missing or unreadable: start empty, it is only a cache */
  }
  return { version: 1, budgets: {} };
}

export function learnedBudget(key: string, path = budgetCachePath()): number | null {
  return read(path).budgets[key]?.budget ?? null;
}

export function rememberBudget(key: string, budget: number, path = budgetCachePath()): void {
  const cache = read(path);
  if (cache.budgets[key]?.budget === budget) return;
  cache.budgets[key] = { budget, updatedAt: new Date().toISOString() };
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(cache, null, 2)}\n`);
}
