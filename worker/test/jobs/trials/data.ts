/** Tiny sweep inputs written for the tests: a CSV table, .npy matrices, a small space; and the study read through the venv's Optuna. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonExecutable, RUNTIME_DIR } from '../../../src/runtimePaths.js';
import { readJournal } from '../../../src/runs/journal.js';
import { JournalRecord } from '../../../src/jobs/trials/records.js';
import type { TrialResult } from '../../../src/contract/trialsProtocol.js';
import { seededRandom } from '../../helpers.js';


/** Small hidden shapes and few epochs keep a trial to a fraction of a second. */
export const SMALL_SPACE = {
  hidden: { name: 'CategoricalDistribution', attributes: { choices: ['16-8', '12-6'] } },
  lr: { name: 'FloatDistribution', attributes: { low: 0.001, high: 0.02, log: true, step: null } },
};

function gauss(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** rows x 4 features and a target y (a regression one, or 0/1 when binary). */
export function tableRows(rows: number, seed = 7, binary = false): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, () => {
    const x = [gauss(random), gauss(random), gauss(random), gauss(random)];
    const y = 1.5 * x[0]! - 0.7 * x[1]! + 0.3 * x[2]! * x[3]! + 0.1 * gauss(random);
    return [...x, binary ? (y > 0 ? 1 : 0) : y];
  });
}

export function writeCsv(path: string, rows: (number | string)[][], header = ['a', 'b', 'c', 'd', 'y']): string {
  writeFileSync(path, `${[header.join(','), ...rows.map((row) => row.map((v) => (typeof v === 'number' ? v.toFixed(6) : v)).join(','))].join('\n')}\n`);
  return path;
}

/** A float64 .npy of a matrix (or a vector when cols is null). */
export function writeNpy(path: string, values: number[], shape: number[]): string {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => data.writeDoubleLE(value, i * 8));
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
  return path;
}

export function writeSpace(path: string, space: unknown = SMALL_SPACE): string {
  writeFileSync(path, JSON.stringify(space));
  return path;
}

export const trialRecords = (runDir: string): Extract<JournalRecord, { type: 'trial_done' }>[] =>
  readJournal(join(runDir, 'journal.jsonl'), JournalRecord).records.filter((record): record is Extract<JournalRecord, { type: 'trial_done' }> => record.type === 'trial_done');

export const journalOf = (runDir: string): JournalRecord[] => readJournal(join(runDir, 'journal.jsonl'), JournalRecord).records;

export const trialsFile = (runDir: string): TrialResult[] =>
  readFileSync(join(runDir, 'trials.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrialResult);

export interface StudyTrial {
  number: number;
  state: string;
  value: number | null;
  params: Record<string, unknown>;
}

/** Every trial of DIR/study.db as Optuna itself loads it. */
export function studyTrials(runDir: string): StudyTrial[] {
  const script = [
    'import json, sys, optuna',
    'optuna.logging.set_verbosity(optuna.logging.ERROR)',
    'study = optuna.load_study(study_name=None, storage="sqlite:///" + sys.argv[1])',
    'print(json.dumps([{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params} for t in study.trials]))',
  ].join('\n');
  return JSON.parse(execFileSync(pythonExecutable(), ['-c', script, join(runDir, 'study.db')], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: RUNTIME_DIR } })) as StudyTrial[];
}
