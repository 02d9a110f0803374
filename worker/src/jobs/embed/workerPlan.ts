/**
 * The workers of an embed run (`--workers`): one runtime per listed device, each
 * pinned with CUDA_VISIBLE_DEVICES (cuda:N sees only that GPU, as its cuda:0; cpu
 * sees none) and, on the CPU, given its share of the cores as its thread count
 * (OMP_NUM_THREADS and the BLAS libraries' own; torch reads OMP_NUM_THREADS at
 * start). HEADROOM_WORKER_THREADS sets the thread count of every worker instead,
 * the single worker of a run without --workers included, so two runs can be
 * compared byte for byte at the same count. The GPUs a machine has are counted by
 * `nvidia-smi --list-gpus` (no Python process needed; the Engine's own
 * CUDA_VISIBLE_DEVICES, when set, is what it may use).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { workerId } from '../../contract/jobs/embed.js';
import { HeadroomError } from '../../errors.js';

export const THREADS_ENV = 'HEADROOM_WORKER_THREADS';
const THREAD_VARS = ['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'];

export interface WorkerPlan {
  /** w0, w1, ... in --workers order. */
  id: string;
  /** As listed in --workers; null for the single worker of a run without --workers. */
  device: string | null;
  /** What the runtime is told for every model: cpu, or cuda:0 (its one visible GPU); null: each model's own. */
  runtimeDevice: string | null;
  /** The runtime's environment. */
  env: NodeJS.ProcessEnv;
  /** Threads it was given; null: left to torch. */
  threads: number | null;
}

function threadsFromEnv(env: NodeJS.ProcessEnv): number | null {
  const raw = env[THREADS_ENV]?.trim();
  if (!raw) return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 4096) throw new HeadroomError('usage', `${THREADS_ENV} must be a whole number of threads of 1 or more, not "${raw}"`);
  return n;
}

/** HEADROOM_WORKER names the worker on its process, so the GPU monitor can say which worker a PID is. */
const named = (env: NodeJS.ProcessEnv, index: number): NodeJS.ProcessEnv => ({ ...env, HEADROOM_WORKER: workerId(index) });

const withThreads = (env: NodeJS.ProcessEnv, threads: number | null): NodeJS.ProcessEnv =>
  threads === null ? env : { ...env, ...Object.fromEntries(THREAD_VARS.map((name) => [name, String(threads)])) };

/** The Engine's visible GPUs as the physical ids to pin a worker to (cuda:N is the Nth of them). */
function visibleIds(env: NodeJS.ProcessEnv): string[] | null {
  const raw = env.CUDA_VISIBLE_DEVICES;
  if (raw === undefined) return null;
  return raw.split(',').map((id) => id.trim()).filter((id) => id !== '' && id !== '-1');
}

/** The workers' runtimes: `workers` null is today's single worker on the models' own devices. */
export function planWorkers(workers: readonly string[] | null, base: NodeJS.ProcessEnv): WorkerPlan[] {
  const fixed = threadsFromEnv(base);
  if (workers === null) return [{ id: workerId(0), device: null, runtimeDevice: null, env: withThreads(named(base, 0), fixed), threads: fixed }];
  const cpus = workers.filter((device) => device === 'cpu').length;
  const share = fixed ?? Math.max(1, Math.floor(availableParallelism() / Math.max(1, cpus)));
  const visible = visibleIds(base);
  return workers.map((device, i) => {
    if (device === 'cpu') return { id: workerId(i), device, runtimeDevice: 'cpu', env: withThreads({ ...named(base, i), CUDA_VISIBLE_DEVICES: '' }, share), threads: share };
    const n = Number(device.slice('cuda:'.length));
    const pinned = visible ? (visible[n] ?? String(n)) : String(n);
    return { id: workerId(i), device, runtimeDevice: 'cuda:0', env: withThreads({ ...named(base, i), CUDA_VISIBLE_DEVICES: pinned }, fixed), threads: fixed };
  });
}

/** GPUs this Engine may use: nvidia-smi's count, cut to its CUDA_VISIBLE_DEVICES when set; 0 without nvidia-smi. */
export function visibleGpuCount(env: NodeJS.ProcessEnv = process.env): number {
  let listed = 0;
  try {
    const out = execFileSync('nvidia-smi', ['--list-gpus'], { env, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    listed = out.split('\n').filter((line) => /^GPU \d+/.test(line.trim())).length;
  } catch {
    return 0;
  }
  const visible = visibleIds(env);
  return visible === null ? listed : Math.min(listed, visible.length);
}

/**
 * The --workers flag's value as a device list: `all` (every visible GPU), or a
 * comma-separated list of cpu and cuda:N. Throws a usage error naming the bad value.
 */
export function parseWorkers(value: string, gpus: () => number = () => visibleGpuCount()): string[] {
  const trimmed = value.trim();
  if (trimmed === 'all') {
    const count = gpus();
    if (count === 0) throw new HeadroomError('usage', '--workers all: no NVIDIA GPU is visible (nvidia-smi lists none); list devices instead, e.g. --workers cpu,cpu');
    return Array.from({ length: count }, (_, i) => `cuda:${i}`);
  }
  const list = trimmed.split(',').map((item) => item.trim());
  const bad = list.find((item) => !/^(cpu|cuda:\d+)$/.test(item));
  if (bad !== undefined) throw new HeadroomError('usage', `--workers: "${bad}" is not a worker device (${bad === '' ? 'an empty entry; ' : ''}expected cpu or cuda:N, comma-separated, or all)`);
  const cuda = list.filter((item) => item !== 'cpu');
  if (cuda.length > 0) {
    const count = gpus();
    const missing = cuda.find((item) => Number(item.slice('cuda:'.length)) >= count);
    if (missing !== undefined) throw new HeadroomError('usage', `--workers: "${missing}" is not on this machine (${count === 0 ? 'no NVIDIA GPU is visible' : `${count} GPU(s) visible: cuda:0 to cuda:${count - 1}`})`);
  }
  return list;
}

/** A model's own device that contradicts the workers' (a model pinned to cuda:0 while a worker runs on cpu): its message, else undefined. */
export function deviceConflict(models: readonly { device: string }[], workers: readonly string[]): string | undefined {
  for (const entry of models) {
    if (entry.device === 'auto') continue;
    const other = workers.find((device) => device !== entry.device && !(entry.device === 'cuda' && device.startsWith('cuda:')));
    if (other !== undefined) return `--device ${entry.device} contradicts --workers ${workers.join(',')} (a worker runs every model on its own device, here ${other}); leave --device out with --workers`;
  }
  return undefined;
}
