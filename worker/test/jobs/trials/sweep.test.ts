/**
 * `headroom trials` with real runtimes on a tiny CSV: a sweep finishes with trials.jsonl equal to the journal and
 * status naming the best; every bad input exits 2 naming the file, column or key, before any run folder exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrialsRequest } from '../../../src/contract/jobs/trials.js';
import { sweepSpec } from '../../../src/jobs/trials/trialsRun.js';
import { RuntimeProcess } from '../../../src/supervisor/runtimeProcess.js';
import { cli, tempDir } from '../../helpers.js';
import { journalOf, studyTrials, tableRows, trialRecords, trialsFile, writeCsv, writeNpy, writeSpace } from './data.js';

const SWEEP = ['--trials', '6', '--epochs', '20', '--patience', '5', '--sampler', 'random', '--seed', '1', '--engine', 'batched', '--concurrency', '4', '--device', 'cpu'];

describe('a sweep from the CLI', () => {
  it('finishes: trials.jsonl holds exactly the journal\'s trials, the study agrees, status names the best', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(300));
    const space = writeSpace(join(dir, 'space.json'));
    const out = join(dir, 'run');
    const result = await cli(['trials', '--data', table, '--target', 'y', '--space', space, '--out', out, ...SWEEP]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(out);
    const journaled = trialRecords(out).map((record) => record.result);
    expect(journaled).toHaveLength(6);
    expect(trialsFile(out)).toEqual(journaled);
    expect(new Set(journaled.map((trial) => trial.number)).size).toBe(6);
    expect(journalOf(out).at(-1)).toMatchObject({ type: 'run_completed', complete: 6 });
    const study = studyTrials(out);
    expect(study.filter((trial) => trial.state === 'COMPLETE').map((trial) => [trial.number, trial.value])).toEqual(journaled.map((trial) => [trial.number, trial.value]));
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as Record<string, unknown>;
    const best = journaled.reduce((a, b) => (b.value! > a.value! ? b : a));
    expect(status).toMatchObject({ kind: 'trials', status: 'done', trialsDone: 6, trialsTotal: 6, task: 'regression', metric: 'r2', engine: 'batched', best: { number: best.number, value: best.value } });
    const again = await cli(['resume', out]);
    expect(again.exitCode, again.stderr).toBe(0); // a done sweep is done: nothing retrained
    expect(trialRecords(out)).toHaveLength(6);
  });
});

describe('a folder a killed `headroom trials` left while it wrote run.json', () => {
  it('is taken for --out when its writer is gone (its run.json.tmp-<pid> removed), refused while it lives', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(60));
    const gone = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid names no process now
    const out = join(dir, 'killed');
    mkdirSync(out);
    writeFileSync(join(out, `run.json.tmp-${gone}`), '{"format": 3, "ki');
    const args = ['--data', table, '--target', 'y', '--trials', '1', '--epochs', '2', '--device', 'cpu'];
    const result = await cli(['trials', ...args, '--out', out]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readdirSync(out)).not.toContain(`run.json.tmp-${gone}`);
    expect(trialRecords(out)).toHaveLength(1);
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, `run.json.tmp-${process.pid}`), ''); // a live writer (this test): not debris
    const refused = await cli(['trials', ...args, '--out', busy]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('exists and is not an empty folder');
  });
});

describe('bad input', () => {
  let dir: string;
  let runtime: RuntimeProcess;
  const rows = tableRows(200);

  beforeAll(async () => {
    dir = tempDir();
    runtime = RuntimeProcess.start();
    await runtime.handshake();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  /** What the runtime says of one request: 'ok', or its bad_input message. */
  async function check(request: Record<string, unknown>): Promise<string> {
    runtime.send({ type: 'trials_check', spec: sweepSpec(TrialsRequest.parse(request)) });
    for (;;) {
      const item = await runtime.next();
      if (item.kind === 'exit') throw new Error('the runtime exited');
      if (item.event.type === 'trials_checked') return 'ok';
      if (item.event.type === 'error') return `${item.event.code}: ${item.event.message}`;
    }
  }

  it('names the file, column or key of each (the runtime\'s check, one runtime for all)', async () => {
    const file = (name: string, edit: (row: (number | string)[], i: number) => (number | string)[]): string => writeCsv(join(dir, name), rows.map((row, i) => edit([...row], i)));
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['NaN feature', { data: file('nan-x.csv', (r, i) => (i === 7 ? ['nan', ...r.slice(1)] : r)), target: 'y' }, /nan-x\.csv.*\ba\b|\ba\b.*nan-x\.csv/s],
      ['infinite feature', { data: file('inf-x.csv', (r, i) => (i === 9 ? [r[0]!, 'inf', ...r.slice(2)] : r)), target: 'y' }, /inf-x\.csv.*\bb\b|\bb\b.*inf-x\.csv/s],
      ['NaN target', { data: file('nan-y.csv', (r, i) => (i === 3 ? [...r.slice(0, 4), 'nan'] : r)), target: 'y' }, /nan-y\.csv.*\by\b|\by\b.*nan-y\.csv/s],
      ['infinite target', { data: file('inf-y.csv', (r, i) => (i === 3 ? [...r.slice(0, 4), '-inf'] : r)), target: 'y' }, /inf-y\.csv.*\by\b|\by\b.*inf-y\.csv/s],
      ['constant target', { data: file('flat.csv', (r) => [...r.slice(0, 4), 2.5]), target: 'y' }, /flat\.csv.*\by\b|\by\b.*flat\.csv/s],
      ['non-binary target for binary', { data: file('real.csv', (r) => r), target: 'y', task: 'binary' }, /real\.csv|\by\b/],
      ['missing column', { data: file('cols.csv', (r) => r), target: 'price' }, /price/],
      ['too few rows for the folds', { data: writeCsv(join(dir, 'few.csv'), rows.slice(0, 8)), target: 'y', folds: 10 }, /few\.csv|fold/],
      [
        'mismatched rows (X.npy vs y.npy)',
        { data: writeNpy(join(dir, 'X.npy'), rows.flatMap((r) => r.slice(0, 4) as number[]), [rows.length, 4]), target: writeNpy(join(dir, 'y.npy'), rows.slice(1).map((r) => r[4] as number), [rows.length - 1]) },
        /X\.npy|y\.npy/,
      ],
      ['unknown space key', { data: file('ok.csv', (r) => r), target: 'y', space: { nn: { lrate: { name: 'FloatDistribution', attributes: { low: 0.001, high: 0.01, log: true, step: null } } } }, spaceSource: join(dir, 's1.json') }, /lrate/],
      ['invalid range', { data: file('ok.csv', (r) => r), target: 'y', space: { nn: { lr: { name: 'FloatDistribution', attributes: { low: 0.1, high: 0.01, log: true, step: null } } } }, spaceSource: join(dir, 's2.json') }, /\blr\b/],
      [
        'unknown tree space key',
        { data: file('ok.csv', (r) => r), target: 'y', families: ['xgboost'], space: { xgboost: { depth: { name: 'IntDistribution', attributes: { low: 2, high: 4, log: false, step: 1 } } } }, spaceSource: join(dir, 's3.json') },
        /xgboost.*\bdepth\b/,
      ],
      [
        'tree space key out of range',
        { data: file('ok.csv', (r) => r), target: 'y', families: ['nn', 'lightgbm'], space: { lightgbm: { num_leaves: { name: 'IntDistribution', attributes: { low: 1, high: 4, log: false, step: 1 } } } }, spaceSource: join(dir, 's4.json') },
        /lightgbm.*\bnum_leaves\b/,
      ],
    ];
    const answers: string[] = [];
    for (const [what, request, named] of cases) {
      const answer = await check(request);
      answers.push(`${what}: ${answer}`);
      expect(answer, what).toMatch(/^bad_input: /);
      expect(answer, what).toMatch(named);
    }
    expect(await check({ data: file('fine.csv', (r) => r), target: 'y' })).toBe('ok');
  });

  it('exits 2 from the CLI with the message and leaves no run folder', async () => {
    const nan = writeCsv(join(dir, 'cli-nan.csv'), rows.map((row, i) => (i === 5 ? ['nan', ...row.slice(1)] : row)));
    const badKey = writeSpace(join(dir, 'bad-key.json'), { widths: { name: 'CategoricalDistribution', attributes: { choices: ['8'] } } });
    const runs = [
      ['--data', nan, '--target', 'y'],
      ['--data', writeCsv(join(dir, 'cli-ok.csv'), rows), '--target', 'nope'],
      ['--data', join(dir, 'cli-ok.csv'), '--target', 'y', '--space', badKey],
      ['--data', join(dir, 'cli-ok.csv'), '--target', 'y', '--space', join(dir, 'missing.json')],
      ['--data', join(dir, 'cli-ok.csv'), '--target', 'y', '--folds', '3', '--val-fraction', '0.2'],
    ];
    const named = [/cli-nan\.csv/, /nope/, /widths/, /missing\.json does not exist/, /--folds and --val-fraction/];
    const results = await Promise.all(runs.map((args, i) => cli(['trials', ...args, '--out', join(dir, `out-${i}`), '--device', 'cpu'])));
    results.forEach((result, i) => {
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(named[i]!);
      expect(existsSync(join(dir, `out-${i}`))).toBe(false);
    });
  });
});
