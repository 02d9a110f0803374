/** A sweep's run folder written by hand (no runtime): run.json and journal records, for the status, words and table tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrialResult, TrialsFamily } from '../../../src/contract/trialsProtocol.js';
import { Journal } from '../../../src/runs/journal.js';
import { writeManifest } from '../../../src/runs/manifest.js';
import { RUN_FORMAT, runPaths, type RunManifest } from '../../../src/jobs/trials/manifest.js';
import { JournalRecord, type NewRecord } from '../../../src/jobs/trials/records.js';

export const SPACE = {
  hidden: { name: 'CategoricalDistribution', attributes: { choices: ['16-8', '12-6'] } },
  lr: { name: 'FloatDistribution', attributes: { low: 0.001, high: 0.01, log: true, step: null } },
};

export function manifestFor(dir: string, trials = 4, families: TrialsFamily[] = ['nn']): RunManifest {
  return {
    format: RUN_FORMAT,
    kind: 'trials',
    createdAt: '2026-12-01T10:00:00.000Z',
    spec: {
      data: join(dir, 'table.csv'),
      target: 'y',
      task: 'regression',
      trials,
      concurrency: 2,
      epochs: 20,
      patience: 5,
      folds: null,
      valFraction: 0.2,
      families,
      space: { nn: SPACE },
      spaceSource: null,
      sampler: 'random',
      seed: 3,
      device: 'cpu',
      engine: 'batched',
      vramLimit: null,
      targetMemory: 0.85,
      treeWorkers: null,
    },
    checked: { rows: 300, features: 4, metric: 'r2' },
    files: [{ path: join(dir, 'table.csv'), bytes: 10, sha256: '0'.repeat(64) }],
    request: { engine: 'batched', concurrency: 2 },
    versions: { headroom: '0.0.0', node: process.versions.node },
  };
}

export function trial(number: number, value: number | null, state: TrialResult['state'] = 'complete', family: TrialsFamily = 'nn'): TrialResult {
  return {
    family,
    number,
    state,
    params: family === 'nn' ? { hidden: number % 2 === 0 ? '16-8' : '12-6', lr: 0.001 * (number + 1), weight_decay: 0, dropout: 0.1 } : { max_depth: 3 + (number % 3), learning_rate: 0.01 * (number + 1) },
    seed: 3 * 1_000_003 + number,
    value,
    metrics: value === null ? {} : { r2: value, mse: 1 - value },
    epochs: 20,
    bestEpoch: 15,
    ms: 120,
    peakBytes: 4096,
    peakSource: 'estimate',
    engine: family === 'nn' ? 'batched' : 'worker',
    device: 'cpu',
    message: state === 'failed' ? 'it failed' : null,
  };
}

/** A run folder with run.json and these records (after run_created). */
export function writeRun(dir: string, records: NewRecord[], trials = 4, families: TrialsFamily[] = ['nn']): string {
  mkdirSync(dir, { recursive: true });
  writeManifest(dir, manifestFor(dir, trials, families));
  writeFileSync(join(dir, 'table.csv'), 'a,b,y\n');
  const journal = Journal.open(runPaths(dir).journal, JournalRecord);
  journal.append({ type: 'run_created' });
  for (const record of records) journal.append(record);
  journal.close();
  return dir;
}

export const opened: NewRecord = {
  type: 'sweep_opened',
  family: 'nn',
  complete: 0,
  failedStale: [],
  engine: 'batched',
  engineWhy: 'asked for',
  concurrency: 2,
  memberBytes: 4096,
  roomBytes: null,
  device: 'cpu',
};

/** A run folder whose journal lines carry the given times (seconds after 10:00): for elapsed-time tests. */
export function writeTimedRun(dir: string, records: [number, NewRecord][], trials = 4, families: TrialsFamily[] = ['nn']): string {
  mkdirSync(dir, { recursive: true });
  writeManifest(dir, manifestFor(dir, trials, families));
  writeFileSync(join(dir, 'table.csv'), 'a,b,y\n');
  const at = (seconds: number): string => new Date(Date.parse('2026-12-01T10:00:00.000Z') + seconds * 1000).toISOString();
  const lines = [{ type: 'run_created', at: at(0) }, ...records.map(([seconds, record]) => ({ ...record, at: at(seconds) }))];
  writeFileSync(runPaths(dir).journal, lines.map((line) => `${JSON.stringify(JournalRecord.parse(line))}\n`).join(''));
  return dir;
}

export const openedFamily = (family: TrialsFamily, concurrency = 2, complete = 0): NewRecord => ({
  type: 'sweep_opened',
  family,
  complete,
  failedStale: [],
  engine: family === 'nn' ? 'batched' : 'worker',
  engineWhy: family === 'nn' ? 'asked for' : `${concurrency} workers on the CPU`,
  concurrency,
  memberBytes: 4096,
  roomBytes: null,
  device: 'cpu',
});
