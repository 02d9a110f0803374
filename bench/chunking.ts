/**
 * Benchmark: chunked (--chunk-size 1000) against one chunk, on the demo corpus
 * with the default model, side by side in one process, order ABBA... so drift
 * cancels. Reports, per adjacent pair, the ratio of wall times of whole
 * `headroom embed` runs and of their work phase (model loaded to run completed,
 * from the journal, without Python's start-up), and the median of each.
 *
 *   npm run bench -- [--reps 2] [--corpus FILE] [--model M] [--device auto]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../worker/src/jobs/embed/defaults.js';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';
import { readJournal } from '../worker/src/runs/journal.js';
import { JournalRecord } from '../worker/src/jobs/embed/records.js';

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

interface Timing {
  /** The whole `headroom embed` command, Python start-up included. */
  wall: number;
  /** From the model loaded to the run completed, read off the journal. */
  work: number;
}

async function once(variant: Variant, rep: number): Promise<Timing> {
  const out = join(OUT, `${variant}-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const args = ['embed', values.corpus, '--out', out, '--model', values.model, '--device', values.device, '--chunk-size', variants[variant], '--json'];
  const started = performance.now();
  await execa(process.execPath, [CLI, ...args]);
  const wall = (performance.now() - started) / 1000;
  const { records } = readJournal(join(out, 'journal.jsonl'), JournalRecord);
  const at = (type: string): number => Date.parse(records.find((record) => record.type === type)!.at);
  const work = (at('run_completed') - at('pass_started')) / 1000;
  rmSync(out, { recursive: true, force: true });
  return { wall, work };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

mkdirSync(OUT, { recursive: true });
const times: Record<Variant, Timing[]> = { chunked: [], single: [] };
const reps = Number(values.reps);
for (let rep = 0; rep < reps; rep += 1) {
  const order: Variant[] = rep % 2 === 0 ? ['chunked', 'single'] : ['single', 'chunked'];
  for (const variant of order) {
    const timing = await once(variant, rep);
    times[variant].push(timing);
    console.error(`rep ${rep} ${variant}: ${timing.wall.toFixed(2)} s wall, ${timing.work.toFixed(2)} s work`);
  }
}
const ratios = (pick: (t: Timing) => number): number[] => times.chunked.map((t, i) => pick(t) / pick(times.single[i]!));
const round = (x: number): number => Number(x.toFixed(4));
const result = {
  bench: 'chunking',
  date: new Date().toISOString(),
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  corpus: values.corpus,
  model: values.model,
  device: values.device,
  times,
  // per adjacent pair (ABBA order), then the median: drift between pairs cancels
  wallRatios: ratios((t) => t.wall).map(round),
  workRatios: ratios((t) => t.work).map(round),
  medianWallRatio: round(median(ratios((t) => t.wall))),
  medianWorkRatio: round(median(ratios((t) => t.work))),
};
console.log(JSON.stringify(result, null, 2));
