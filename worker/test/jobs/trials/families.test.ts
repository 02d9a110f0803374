/**
 * Sweeps over several model families with real runtimes and real tree libraries on a tiny CSV: a 4-family
 * comparison from the CLI ranks the families (its summary, `status --json`, one study per family in study.db);
 * a family whose library is missing is refused with the fix before a run folder exists; a 2-family sweep
 * SIGKILLed (its runtime, then the CLI) and resumed ends with exactly its count per family, nothing twice.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FamilySummary } from '../../../src/contract/jobs/trials.js';
import type { TrialResult, TrialsFamily } from '../../../src/contract/trialsProtocol.js';
import { keyOf } from '../../../src/jobs/trials/runState.js';
import { pythonExecutable, RUNTIME_DIR } from '../../../src/runtimePaths.js';
import { cli, isAlive, runtimePid, startCli, tempDir, waitFor } from '../../helpers.js';
import { journalOf, SMALL_SPACE, tableRows, trialRecords, trialsFile, writeCsv, writeSpace } from './data.js';

const int = (low: number, high: number) => ({ name: 'IntDistribution', attributes: { low, high, log: false, step: 1 } });
/** A few rounds of shallow trees: a tree trial takes a fraction of a second. */
const TINY_SPACES = {
  nn: SMALL_SPACE,
  xgboost: { n_estimators: int(5, 12), max_depth: int(2, 3) },
  lightgbm: { n_estimators: int(5, 12), num_leaves: int(4, 8) },
  catboost: { iterations: int(5, 12), depth: int(2, 3) },
};
const FAMILIES: TrialsFamily[] = ['nn', 'xgboost', 'lightgbm', 'catboost'];

interface StudyTrial {
  number: number;
  state: string;
  value: number | null;
}

/** Every study of DIR/study.db by name, as Optuna itself loads them. */
function studies(runDir: string): Record<string, StudyTrial[]> {
  const script = [
    'import json, sys, optuna',
    'optuna.logging.set_verbosity(optuna.logging.ERROR)',
    'storage = "sqlite:///" + sys.argv[1]',
    'out = {}',
    'for summary in optuna.get_all_study_summaries(storage):',
    '    study = optuna.load_study(study_name=summary.study_name, storage=storage)',
    '    out[summary.study_name] = [{"number": t.number, "state": t.state.name, "value": t.value} for t in study.trials]',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(pythonExecutable(), ['-c', script, join(runDir, 'study.db')], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: RUNTIME_DIR } })) as Record<string, StudyTrial[]>;
}

/** The journal's finished trials of one family. */
const ofFamily = (trials: TrialResult[], family: TrialsFamily): TrialResult[] => trials.filter((trial) => trial.family === family);

/** The journal, trials.jsonl and the study agree, per family: `trials` complete, no key twice, none RUNNING. */
function expectExact(out: string, families: TrialsFamily[], trials: number, context = ''): void {
  const journaled = trialRecords(out).map((record) => record.result);
  expect(new Set(journaled.map(keyOf)).size, context).toBe(journaled.length);
  expect(trialsFile(out), context).toEqual(journaled);
  const study = studies(out);
  expect(Object.keys(study).sort(), context).toEqual([...families].sort());
  for (const family of families) {
    const complete = ofFamily(journaled, family).filter((trial) => trial.state === 'complete');
    expect(complete, `${family} ${context}`).toHaveLength(trials);
    expect(study[family]!.filter((trial) => trial.state === 'RUNNING'), `${family} ${context}`).toEqual([]);
    const inStudy = study[family]!.filter((trial) => trial.state === 'COMPLETE').map((trial) => [trial.number, trial.value]);
    expect(inStudy.sort((a, b) => a[0]! - b[0]!), `${family} ${context}`).toEqual(complete.map((trial) => [trial.number, trial.value]).sort((a, b) => a[0]! - b[0]!));
  }
}

describe('a 4-family comparison from the CLI', () => {
  it('finishes with every family\'s count, ranks the families in its summary and in `status --json`', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(300, 13));
    const space = writeSpace(join(dir, 'space.json'), TINY_SPACES);
    const out = join(dir, 'run');
    const result = await cli([
      'trials', '--data', table, '--target', 'y', '--space', space, '--out', out, '--family', FAMILIES.join(','), '--trials', '3',
      '--epochs', '10', '--patience', '0', '--sampler', 'random', '--seed', '5', '--engine', 'batched', '--concurrency', '3', '--device', 'cpu', '--tree-workers', '2',
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expectExact(out, FAMILIES, 3);
    const records = journalOf(out);
    // Each family opened in the spec's order, and done; tree families by their workers.
    expect(records.filter((record) => record.type === 'sweep_opened').map((record) => record.type === 'sweep_opened' && [record.family, record.engine])).toEqual([
      ['nn', 'batched'],
      ['xgboost', 'worker'],
      ['lightgbm', 'worker'],
      ['catboost', 'worker'],
    ]);
    expect(records.filter((record) => record.type === 'family_done').map((record) => record.type === 'family_done' && [record.family, record.complete])).toEqual(FAMILIES.map((family) => [family, 3]));
    const workers = records.filter((record) => record.type === 'tree_worker');
    expect(workers.length).toBeGreaterThanOrEqual(3);
    for (const worker of workers) if (worker.type === 'tree_worker') expect(worker.visibleDevices, 'a CPU run\'s worker sees no GPU').toBe('');

    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; trialsDone: number; trialsTotal: number; families: FamilySummary[]; best: { family: string; number: number; value: number } };
    expect(status).toMatchObject({ status: 'done', trialsDone: 12, trialsTotal: 12 });
    expect(status.families.map((family) => family.family)).toEqual(FAMILIES);
    expect(status.families.map((family) => family.rank).sort()).toEqual([1, 2, 3, 4]);
    const journaled = trialRecords(out).map((record) => record.result);
    for (const family of status.families) {
      const complete = ofFamily(journaled, family.family).filter((trial) => trial.state === 'complete');
      const best = Math.max(...complete.map((trial) => trial.value!));
      expect(family, family.family).toMatchObject({ trialsDone: 3, trialsTotal: 3, best: { value: best }, engine: family.family === 'nn' ? 'batched' : 'worker' });
      expect(family.msPerTrial).toBeCloseTo(complete.reduce((sum, trial) => sum + trial.ms, 0) / 3, 6);
      expect(family.elapsedMs).toBeGreaterThan(0);
    }
    const first = status.families.find((family) => family.rank === 1)!;
    expect(status.best).toMatchObject({ family: first.family, value: first.best!.value });
    // The summary's table: the families ranked, best first.
    const table4 = result.stderr.split('\n').filter((line) => /^ {2}(nn|xgboost|lightgbm|catboost) /.test(line));
    expect(table4.map((line) => line.trim().split(/\s+/).slice(0, 2))).toEqual([...status.families].sort((a, b) => a.rank! - b.rank!).map((family) => [family.family, String(family.rank)]));
    expect(result.stderr).toMatch(/xgboost trial \d+ \(\d of 3\) complete: r2 -?\d\.\d{4} in \d+ rounds/);
    const text = await cli(['status', out]);
    expect(text.stdout).toMatch(/compare +family +rank +best r2/);
  }, 600_000);
});

/** A folder whose catboost package fails to import, ahead of the venv's (PYTHONPATH comes before site-packages). */
function hiddenCatboost(dir: string): string {
  const shadow = join(dir, 'shadow');
  mkdirSync(join(shadow, 'catboost'), { recursive: true });
  writeFileSync(join(shadow, 'catboost', '__init__.py'), 'raise ImportError("catboost hidden by the test")\n');
  return shadow;
}

describe('a family whose library is missing', () => {
  it('is refused with the fix, exit 2, nothing created', async () => {
    const dir = tempDir();
    const shadow = hiddenCatboost(dir);
    const table = writeCsv(join(dir, 'table.csv'), tableRows(100, 3));
    const out = join(dir, 'run');
    const result = await cli(['trials', '--data', table, '--target', 'y', '--out', out, '--family', 'nn,catboost', '--device', 'cpu'], { PYTHONPATH: shadow });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/catboost/);
    expect(result.stderr).toMatch(/pip install catboost/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);

  it('is named by `headroom doctor` with the fix, the other libraries ok', async () => {
    const dir = tempDir();
    const shadow = hiddenCatboost(dir);
    const doctor = JSON.parse((await cli(['doctor', '--json', '--runs-dir', dir], { PYTHONPATH: shadow })).stdout) as { checks: { name: string; ok: boolean; fix: string | null }[] };
    expect(doctor.checks.find((check) => check.name === 'catboost')).toMatchObject({ ok: false, fix: expect.stringMatching(/pip install catboost/) });
    expect(doctor.checks.find((check) => check.name === 'xgboost')).toMatchObject({ ok: true });
  }, 300_000);
});

describe('SIGKILL during a 2-family sweep', () => {
  it('resumes to exactly the count per family: nothing journaled twice or changed, none RUNNING, no worker left', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(240, 17));
    const space = writeSpace(join(dir, 'space.json'), { nn: TINY_SPACES.nn, xgboost: TINY_SPACES.xgboost });
    const out = join(dir, 'run');
    const TRIALS = 4;
    const args = ['trials', '--data', table, '--target', 'y', '--space', space, '--out', out, '--family', 'nn,xgboost', '--trials', String(TRIALS), '--epochs', '10', '--patience', '0', '--sampler', 'random', '--seed', '3', '--engine', 'batched', '--concurrency', '2', '--device', 'cpu', '--tree-workers', '2'];
    // Slow tree trials (a test switch of the worker), so the kill lands while xgboost trials run.
    const env = { HEADROOM_FAULT_TREE_SLOW_MS: '400' };
    const finished = (family: TrialsFamily): number => trialRecords(out).filter((record) => record.result.family === family).length;
    const sessions = (): number => journalOf(out).filter((record) => record.type === 'session_started').length;
    const log: string[] = [];

    // 1: the runtime killed after the first nn trial.
    let child = startCli(args, env);
    await waitFor(() => existsSync(join(out, 'journal.jsonl')) && sessions() === 1, 'the session to start', 120_000);
    await waitFor(() => finished('nn') >= 1 || child.exitCode !== null, 'an nn trial', 120_000);
    const runtime = runtimePid(child.pid!);
    expect(runtime, 'the sweep\'s runtime').toBeDefined();
    process.kill(runtime!, 'SIGKILL');
    expect((await child).exitCode).toBe(3);
    log.push(`runtime killed with ${finished('nn')} nn trial(s) journaled`);
    const afterFirst = trialRecords(out).map((record) => record.result);

    // 2: the CLI killed once an xgboost trial is journaled (its runtime and tree workers left to notice).
    child = startCli(['resume', out], env);
    await waitFor(() => finished('xgboost') >= 1 || child.exitCode !== null, 'an xgboost trial', 300_000);
    process.kill(child.pid!, 'SIGKILL');
    await child;
    log.push(`CLI killed with ${finished('nn')} nn and ${finished('xgboost')} xgboost trial(s) journaled`);
    expect(finished('xgboost'), 'the kill landed before the xgboost family was done').toBeLessThan(TRIALS);
    const afterSecond = trialRecords(out).map((record) => record.result);
    expect(afterSecond.slice(0, afterFirst.length), log.join('\n')).toEqual(afterFirst);
    // The killed CLI's runtime and workers end on their own (they watch their parent).
    const workers = journalOf(out).flatMap((record) => (record.type === 'tree_worker' ? [record.pid] : []));
    expect(workers.length).toBeGreaterThanOrEqual(1);
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 'the killed sweep\'s tree workers to end', 120_000);

    const final = await cli(['resume', out], env);
    expect(final.exitCode, `${log.join('\n')}\n${final.stderr}`).toBe(0);
    const journaled = trialRecords(out).map((record) => record.result);
    expect(journaled.slice(0, afterSecond.length), log.join('\n')).toEqual(afterSecond);
    expectExact(out, ['nn', 'xgboost'], TRIALS, log.join('\n'));
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; families: FamilySummary[] };
    expect(status.status).toBe('done');
    expect(status.families.map((family) => [family.family, family.trialsDone])).toEqual([
      ['nn', TRIALS],
      ['xgboost', TRIALS],
    ]);
    const allWorkers = journalOf(out).flatMap((record) => (record.type === 'tree_worker' ? [record.pid] : []));
    await waitFor(() => allWorkers.every((pid) => !isAlive(pid)), 'every tree worker to end', 60_000);
  }, 900_000);
});
