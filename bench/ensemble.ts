/**
 * Benchmark: a 3-model ensemble, simultaneous against sequential, on the demo
 * corpus, side by side in one process, order ABBA... so drift cancels. Models: the
 * bundled all-MiniLM-L6-v2 and two BERTs built from a config (random weights time
 * the same as trained ones). Reports per adjacent pair the ratio (sequential /
 * simultaneous) of wall time of whole `headroom embed` runs (model loading
 * included), of peak resident model bytes, and of the worker's peak memory.
 *
 *   npm run bench:ensemble -- [--reps 2] [--corpus FILE] [--device auto]
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../worker/src/jobs/embed/defaults.js';
import { pythonExecutable, REPO_ROOT, RUNTIME_DIR } from '../worker/src/runtimePaths.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '2' },
    corpus: { type: 'string', default: DEMO_CORPUS },
    device: { type: 'string', default: 'auto' },
  },
});

const CLI = join(REPO_ROOT, 'bin', 'headroom.mjs');
const OUT = join(REPO_ROOT, 'bench', 'out');
const modes = ['simultaneous', 'sequential'] as const;
type Mode = (typeof modes)[number];

interface Figures {
  wall: number;
  /** Most bytes of model parameters and buffers resident at once. */
  resident: number;
  /** The worker's peak memory (GPU allocated, or RSS on CPU). */
  peak: number;
  sha256: string;
}

async function buildModel(name: string, dim: number, layers: number): Promise<string> {
  const path = join(OUT, 'models', name);
  if (!existsSync(join(path, 'modules.json'))) {
    await execa(pythonExecutable(), ['-m', 'headroom_dev.tiny_model', path, '--dim', String(dim), '--layers', String(layers), '--max-seq-len', '256'], {
      env: { ...process.env, PYTHONPATH: RUNTIME_DIR },
    });
  }
  return path;
}

async function once(mode: Mode, rep: number, models: string[]): Promise<Figures> {
  const out = join(OUT, `ensemble-${mode}-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const args = ['embed', values.corpus, '--out', out, ...models.flatMap((m) => ['--model', m]), '--ensemble-mode', mode, '--device', values.device, '--json'];
  const started = performance.now();
  const result = await execa(process.execPath, [CLI, ...args]);
  const wall = (performance.now() - started) / 1000;
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { sha256: string; memory: { resident: number; peak: number } };
  rmSync(out, { recursive: true, force: true });
  return { wall, resident: summary.memory.resident, peak: summary.memory.peak, sha256: summary.sha256 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (x: number): number => Number(x.toFixed(4));

mkdirSync(OUT, { recursive: true });
const models = [DEFAULT_MODEL, await buildModel('bert-256x4', 256, 4), await buildModel('bert-512x6', 512, 6)];
const figures: Record<Mode, Figures[]> = { simultaneous: [], sequential: [] };
for (let rep = 0; rep < Number(values.reps); rep += 1) {
  for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
    const f = await once(mode, rep, models);
    figures[mode].push(f);
    console.error(`rep ${rep} ${mode}: ${f.wall.toFixed(2)} s, resident ${(f.resident / 2 ** 20).toFixed(1)} MiB, peak ${(f.peak / 2 ** 20).toFixed(1)} MiB`);
  }
}
const ratios = (pick: (f: Figures) => number): number[] => figures.sequential.map((f, i) => round(pick(f) / pick(figures.simultaneous[i]!)));
console.log(
  JSON.stringify(
    {
      bench: 'ensemble',
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
      corpus: values.corpus,
      device: values.device,
      models,
      figures,
      sameMatrix: figures.sequential.every((f, i) => f.sha256 === figures.simultaneous[i]!.sha256),
      wallRatios: ratios((f) => f.wall),
      residentRatios: ratios((f) => f.resident),
      peakRatios: ratios((f) => f.peak),
      medianWallRatio: round(median(ratios((f) => f.wall))),
      medianResidentRatio: round(median(ratios((f) => f.resident))),
    },
    null,
    2,
  ),
);
