/**
 * Benchmark: chunked (--chunk-size 1000) against one chunk, on the demo corpus
 * with the default model, side by side in one process, order ABBA... so drift
 * cancels. Reports the ratio of median wall times of whole `headroom embed` runs.
 *
 *   npm run bench -- [--reps 2] [--corpus FILE] [--model M] [--device auto]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../worker/src/cli/main.js';
import { REPO_ROOT } from '../worker/src/python.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '2' },
    corpus: { type: 'string', default: DEMO_CORPUS },
    model: { type: 'string', default: DEFAULT_MODEL },
    device: { type: 'string', default: 'auto' },
  },
});

const CLI = join(REPO_ROOT, 'bin', 'headroom.mjs');
const OUT = join(REPO_ROOT, 'bench', 'out');
const variants = { chunked: '1000', single: '1000000000' } as const;
type Variant = keyof typeof variants;

async function once(variant: Variant, rep: number): Promise<number> {
  const out = join(OUT, `${variant}-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const args = ['embed', values.corpus, '--out', out, '--model', values.model, '--device', values.device, '--chunk-size', variants[variant], '--json'];
  const started = performance.now();
  await execa(process.execPath, [CLI, ...args]);
  const seconds = (performance.now() - started) / 1000;
  rmSync(out, { recursive: true, force: true });
  return seconds;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

mkdirSync(OUT, { recursive: true });
const times: Record<Variant, number[]> = { chunked: [], single: [] };
const reps = Number(values.reps);
for (let rep = 0; rep < reps; rep += 1) {
  const order: Variant[] = rep % 2 === 0 ? ['chunked', 'single'] : ['single', 'chunked'];
  for (const variant of order) {
    const seconds = await once(variant, rep);
    times[variant].push(seconds);
    console.error(`rep ${rep} ${variant}: ${seconds.toFixed(2)} s`);
  }
}
const ratio = median(times.chunked) / median(times.single);
const result = {
  bench: 'chunking',
  date: new Date().toISOString(),
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  corpus: values.corpus,
  model: values.model,
  device: values.device,
  seconds: times,
  medianChunked: Number(median(times.chunked).toFixed(3)),
  medianSingle: Number(median(times.single).toFixed(3)),
  ratio: Number(ratio.toFixed(4)),
  overheadPercent: Number(((ratio - 1) * 100).toFixed(2)),
};
console.log(JSON.stringify(result, null, 2));
