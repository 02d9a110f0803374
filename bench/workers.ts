/**
 * Benchmark: two CPU workers of one thread each (--workers cpu,cpu) against one
 * worker of two threads and one worker of one thread, on the demo corpus with the
 * default model, whole `headroom embed` runs, side by side in one process (order
 * ABC CBA ... so drift cancels). Thread counts are set with HEADROOM_WORKER_THREADS.
 * Reports each variant's median wall time and work time (first model loaded to the
 * run completed, from the journal) and the ratios.
 *
 *   npm run bench:workers -- [--reps 2] [--docs N] [--chunk-size 250] [--corpus FILE] [--model M]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    docs: { type: 'string' },
    'chunk-size': { type: 'string', default: '250' },
    corpus: { type: 'string', default: DEMO_CORPUS },
    model: { type: 'string', default: DEFAULT_MODEL },
  },
});

const CLI = join(REPO_ROOT, 'bin', 'headroom.mjs');
const OUT = join(REPO_ROOT, 'bench', 'out', 'workers');
const variants = {
  'two workers x 1 thread': { threads: '1', flags: ['--workers', 'cpu,cpu'] },
  'one worker x 2 threads': { threads: '2', flags: [] },
  'one worker x 1 thread': { threads: '1', flags: [] },
} as const;
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];

interface Timing {
  wall: number;
  work: number;
  sha256: string;
}

mkdirSync(OUT, { recursive: true });
let corpus = values.corpus;
if (values.docs !== undefined) {
  const lines = readFileSync(corpus, 'utf8').split('\n').filter(Boolean).slice(0, Number(values.docs));
  corpus = join(OUT, 'corpus.jsonl');
  writeFileSync(corpus, `${lines.join('\n')}\n`);
}

async function once(variant: Variant, rep: number): Promise<Timing> {
  const out = join(OUT, `${variant.replace(/\W+/g, '-')}-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const { threads, flags } = variants[variant];
  const args = ['embed', corpus, '--out', out, '--model', values.model, '--device', 'cpu', '--chunk-size', values['chunk-size'], ...flags, '--json'];
  const started = performance.now();
  await execa(process.execPath, [CLI, ...args], { env: { HEADROOM_WORKER_THREADS: threads } });
  const wall = (performance.now() - started) / 1000;
  const { records } = readJournal(join(out, 'journal.jsonl'), JournalRecord);
  const at = (type: string): number => Date.parse(records.find((record) => record.type === type)!.at);
  const completed = records.find((record) => record.type === 'run_completed');
  const work = (at('run_completed') - at('pass_started')) / 1000;
  rmSync(out, { recursive: true, force: true });
  return { wall, work, sha256: completed?.type === 'run_completed' ? completed.sha256 : '' };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const times = Object.fromEntries(names.map((name) => [name, [] as Timing[]])) as Record<Variant, Timing[]>;
const reps = Number(values.reps);
for (let rep = 0; rep < reps; rep += 1) {
  for (const variant of rep % 2 === 0 ? names : [...names].reverse()) {
    const timing = await once(variant, rep);
    times[variant].push(timing);
    console.error(`rep ${rep} ${variant}: ${timing.wall.toFixed(2)} s wall, ${timing.work.toFixed(2)} s work, sha256 ${timing.sha256.slice(0, 12)}`);
  }
}
const round = (x: number): number => Number(x.toFixed(3));
const summary = Object.fromEntries(names.map((name) => [name, { wall: round(median(times[name].map((t) => t.wall))), work: round(median(times[name].map((t) => t.work))) }])) as Record<Variant, { wall: number; work: number }>;
const two = summary['two workers x 1 thread'];
console.log(
  JSON.stringify(
    {
      bench: 'workers',
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
      corpus,
      model: values.model,
      chunkSize: Number(values['chunk-size']),
      reps,
      medians: summary,
      // above 1: two workers are faster
      speedup: {
        workVsOneWorker2Threads: round(summary['one worker x 2 threads'].work / two.work),
        workVsOneWorker1Thread: round(summary['one worker x 1 thread'].work / two.work),
        wallVsOneWorker2Threads: round(summary['one worker x 2 threads'].wall / two.wall),
        wallVsOneWorker1Thread: round(summary['one worker x 1 thread'].wall / two.wall),
      },
      // same thread count per worker gives the same bytes
      sameBytesAs1Thread: times['two workers x 1 thread'].every((t, i) => t.sha256 === times['one worker x 1 thread'][i]!.sha256),
    },
    null,
    2,
  ),
);
