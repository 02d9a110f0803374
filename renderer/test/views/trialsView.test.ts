/**
 * The sweep's views rendered to markup (server-side: no DOM here): the trials table
 * sorted and filtered, the run page's parts, the New sweep form's defaults and its
 * search space, and a refusal placed by field.
 */
import { MantineProvider } from '@mantine/core';
import { createElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { beforeEach, describe, expect, it } from 'vitest';
import { RunInfo } from '../../../worker/src/contract/api.ts';
import { TRIALS_REQUEST_DEFAULTS, TrialsRequest } from '../../../worker/src/contract/jobs/trials.ts';
import { FamilySpaces, SearchSpace } from '../../../worker/src/contract/trialsProtocol.ts';
import { useStore } from '../../src/store/index.ts';
import { runPage } from '../../src/views/RunPage.tsx';
import { RunsTable } from '../../src/views/RunsView.tsx';
import { NewSweepForm, SpaceTable, placeSweepErrors } from '../../src/views/trials/NewSweepForm.tsx';
import { DEFAULT_ROWS, HIDDEN_CHOICES, spacesOf, type ParamRow, type SpacesRows } from '../../src/views/trials/space.ts';
import { filterTrials, nextSort, sortTrials } from '../../src/views/trials/tableRows.ts';
import { TrialsTable } from '../../src/views/trials/TrialsTable.tsx';
import { result, summary, trialsRun } from '../store/trialsFixtures.ts';

const render = (node: ReactNode): string => renderToStaticMarkup(createElement(MantineProvider, null, node));
/** The trial numbers of the table's rows, top to bottom. */
const order = (html: string): number[] => [...html.matchAll(/data-trial="(\d+)"/g)].map((m) => Number(m[1]));

// 0: 0.5 (12-6), 1: 0.9 (16-8), 2: failed (12-6), 3: 0.7 (16-8), 4: pruned 0.2 (12-6)
const TRIALS = [result(0, 0.5), result(1, 0.9), result(2, null), result(3, 0.7), result(4, 0.2, { state: 'pruned' })];

beforeEach(() => useStore.setState(useStore.getInitialState(), true));

describe('the trials table', () => {
  it('sorts by the column clicked: the value high first, a failed trial (no value) last either way', () => {
    expect(order(render(createElement(TrialsTable, { trials: TRIALS, best: { family: 'nn', number: 1 } })))).toEqual([0, 1, 2, 3, 4]);
    const byValue = nextSort({ key: 'number', dir: 'asc' }, 'value');
    expect(byValue).toEqual({ key: 'value', dir: 'desc' });
    const html = render(createElement(TrialsTable, { trials: TRIALS, best: { family: 'nn', number: 1 }, initialSort: byValue }));
    expect(order(html)).toEqual([1, 3, 0, 4, 2]);
    expect(html).toContain('aria-sort="descending"');
    expect(sortTrials(TRIALS, nextSort(byValue, 'value')).map((r) => r.number)).toEqual([4, 0, 3, 1, 2]);
    expect(sortTrials(TRIALS, { key: 'param:hidden', dir: 'asc' }).map((r) => r.params.hidden)).toEqual(['12-6', '12-6', '12-6', '16-8', '16-8']);
    expect(sortTrials(TRIALS, { key: 'param:lr', dir: 'desc' }).map((r) => r.number)).toEqual([4, 3, 2, 1, 0]);
  });

  it('keeps the rows holding every word typed, and says how many it shows', () => {
    const html = render(createElement(TrialsTable, { trials: TRIALS, best: { family: 'nn', number: 1 }, initialFilter: 'complete 16-8' }));
    expect(order(html)).toEqual([1, 3]);
    expect(html).toContain('2 of 5 trials');
    expect(filterTrials(TRIALS, 'FAILED').map((r) => r.number)).toEqual([2]);
    expect(filterTrials(TRIALS, '#4').map((r) => r.number)).toEqual([4]);
    expect(filterTrials(TRIALS, 'no-such-thing')).toEqual([]);
    expect(filterTrials(TRIALS, '  ')).toHaveLength(5);
  });

  it('marks the best trial and shows each column', () => {
    const html = render(createElement(TrialsTable, { trials: TRIALS, best: { family: 'nn', number: 1 } }));
    for (const part of ['Sort by Learning rate', 'Sort by Peak memory', '0.9000', '40 (best 30)', '>best<', 'Filter trials']) expect(html).toContain(part);
  });
});

describe('the sweep page', () => {
  it('shows the charts, the controls and the progress of a running sweep', () => {
    const html = render(runPage(RunInfo.parse(trialsRun('s1', { phase: 'training trials 2 and 3', progressLine: '2 of 6 trials' }))));
    for (const part of ['aria-label="Trial progress"', 'aria-label="Loss curves"', 'aria-label="VRAM"', 'aria-label="Concurrency"', 'aria-label="Trials"', '>Pause<', 'training trials 2 and 3', '2 of 6 trials', 'best R² <b>0.8000</b>']) {
      expect(html).toContain(part);
    }
    expect(html).not.toContain('aria-label="Summary"');
  });

  it('lists a sweep in the runs table with its own words, resumable once interrupted', () => {
    const html = render(createElement(RunsTable, { runs: [RunInfo.parse(trialsRun('s1', { status: 'interrupted', progressLine: '2 of 6 trials · best r2 0.8000 (trial 1)' }))] }));
    expect(html).toContain('sweep of y in table.csv');
    expect(html).toContain('2 of 6 trials · best r2 0.8000 (trial 1)');
    expect(html).toContain('Resume run');
  });

  it('shows the summary card once done', () => {
    const html = render(runPage(RunInfo.parse(trialsRun('s1', { status: 'done', trialsDone: 6, unitsDone: 6 }))));
    expect(html).toContain('aria-label="Summary"');
    expect(html).toContain('Done: 6 trials');
  });
});

describe('a sweep of several families', () => {
  const MIXED = [result(0, 0.5), result(1, 0.6), result(0, 0.8, { family: 'xgboost' }), result(1, 0.7, { family: 'xgboost' }), result(0, 0.4, { family: 'catboost' })];
  const rowsOf = (html: string): string[] => [...html.matchAll(/data-trial="(\d+)" data-family="(\w+)"/g)].map((m) => `${m[2]}:${m[1]}`);

  it('lists every trial by family and number, a Family column, one Params column while families mix', () => {
    const html = render(createElement(TrialsTable, { trials: MIXED, best: { family: 'xgboost', number: 0 }, families: ['nn', 'xgboost', 'catboost'] }));
    expect(rowsOf(html)).toEqual(['nn:0', 'nn:1', 'xgboost:0', 'xgboost:1', 'catboost:0']);
    for (const part of ['Sort by Family', 'Sort by Params', 'max_depth 3 · learning_rate 0.05', 'all families']) expect(html).toContain(part);
    expect(html).not.toContain('Sort by Learning rate');
    expect([...html.matchAll(/>best</g)]).toHaveLength(1); // xgboost's trial 0 alone, not nn's
  });

  it("filtered to one family: that family's params get a column each", () => {
    const html = render(createElement(TrialsTable, { trials: MIXED, best: null, families: ['nn', 'xgboost', 'catboost'], initialFamily: 'xgboost' }));
    expect(rowsOf(html)).toEqual(['xgboost:0', 'xgboost:1']);
    for (const part of ['Sort by max_depth', 'Sort by learning_rate', 'Sort by subsample', '2 of 5 trials']) expect(html).toContain(part);
    expect(sortTrials(MIXED, { key: 'param:max_depth', dir: 'desc' }).map((r) => `${r.family}:${r.number}`).slice(0, 2)).toEqual(['xgboost:1', 'xgboost:0']);
    expect(filterTrials(MIXED, 'catboost').map((r) => r.number)).toEqual([0]);
  });

  it('shows the comparison, ranked, with each family\'s best, time and workers', () => {
    const run = trialsRun('s1', {
      settings: { ...trialsRun('s1').settings, families: ['nn', 'xgboost', 'catboost'] },
      families: [
        summary('nn', { rank: 2, trialsDone: 2, best: { number: 1, value: 0.6, params: result(1, 0.6).params }, msPerTrial: 1000, elapsedMs: 2500, engine: 'batched', concurrency: 2 }),
        summary('xgboost', { rank: 1, trialsDone: 2, best: { number: 0, value: 0.8, params: result(0, 0.8, { family: 'xgboost' }).params }, msPerTrial: 300, peakBytes: 2 * 1024 ** 2, peakSource: 'measured', elapsedMs: 700, engine: 'worker', concurrency: 2 }),
        summary('catboost'),
      ],
    });
    const html = render(runPage(RunInfo.parse(run)));
    expect(html).toContain('aria-label="Comparison"');
    const ranked = [...html.matchAll(/data-family="(\w+)" data-rank="(\d*)"/g)].map((m) => [m[1], m[2]]);
    expect(ranked).toEqual([
      ['xgboost', '1'],
      ['nn', '2'],
      ['catboost', ''],
    ]);
    for (const part of ['0.8000', 'trial 0: max_depth 3', '2.0 MiB', '0.3 s', '2 workers', 'batched × 2', '2 of 6']) expect(html).toContain(part);
  });

  it('shows no comparison for a sweep of the NN family alone', () => {
    expect(render(runPage(RunInfo.parse(trialsRun('s1'))))).not.toContain('aria-label="Comparison"');
  });
});

describe('the New sweep form', () => {
  it("starts from the contract's defaults and shows the default space", () => {
    const html = render(createElement(NewSweepForm));
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.trials}"`);
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.epochs}"`);
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.patience}"`);
    expect(html).toContain(`value="${HIDDEN_CHOICES.join(', ')}"`);
    for (const part of ['Hidden layer shapes', 'Learning rate from', 'Weight decay to', 'Dropout from', 'Start sweep', 'Model families', 'XGBoost', 'CatBoost']) expect(html).toContain(part);
    expect(TRIALS_REQUEST_DEFAULTS.families).toEqual(['nn']);
    expect(html).not.toContain('Search space of XGBoost'); // only the families checked show a space
    expect(html).not.toContain('Tree workers');
  });

  it("shows a tree family's default space, a row per parameter labelled by family", () => {
    // (Rendered on a server, the form reads its store's initial state: the table is rendered alone here.)
    const html = render(createElement(SpaceTable, { family: 'xgboost', rows: DEFAULT_ROWS.xgboost, errors: { 'space.xgboost.subsample': 'subsample must be in (0, 1]' }, onChange: () => undefined }));
    for (const part of ['Search space of XGBoost', 'XGBoost max_depth from', 'XGBoost n_estimators to', 'value="1000"', 'tree depth', 'whole numbers', 'subsample must be in (0, 1]']) expect(html).toContain(part);
    expect(render(createElement(SpaceTable, { family: 'catboost', rows: DEFAULT_ROWS.catboost, errors: {}, onChange: () => undefined }))).toContain('CatBoost iterations from');
  });

  it('sends no space while the defaults are left as shown, and only the families edited once edited', () => {
    expect(spacesOf(['nn', 'xgboost'], DEFAULT_ROWS)).toEqual({ space: null, errors: {} });
    const edit = (rows: ParamRow[], key: string, patch: Partial<ParamRow>): ParamRow[] => rows.map((r) => (r.key === key ? ({ ...r, ...patch } as ParamRow) : r));
    const rows: SpacesRows = {
      ...DEFAULT_ROWS,
      nn: edit(edit(DEFAULT_ROWS.nn, 'hidden', { text: '16-8, 12 x 6' }), 'dropout', { high: '0.2' }),
      xgboost: edit(DEFAULT_ROWS.xgboost, 'n_estimators', { low: '5', high: '10' }),
    };
    const { space, errors } = spacesOf(['nn', 'xgboost', 'lightgbm'], rows);
    expect(errors).toEqual({});
    expect(FamilySpaces.parse(space)).toEqual(space);
    expect(Object.keys(space!)).toEqual(['nn', 'xgboost']); // lightgbm left as shown: its default applies
    expect(space!.nn!.hidden).toEqual({ name: 'CategoricalDistribution', attributes: { choices: ['16-8', '12-6'] } });
    expect(space!.nn!.lr).toEqual({ name: 'FloatDistribution', attributes: { low: 0.0001, high: 0.01, log: true, step: null } });
    expect(space!.xgboost!.n_estimators).toEqual({ name: 'IntDistribution', attributes: { low: 5, high: 10, log: false, step: 1 } });
    expect(SearchSpace.parse(space!.xgboost)).toEqual(space!.xgboost);
    expect(TrialsRequest.safeParse({ data: 'x.csv', target: 'y', families: ['nn', 'xgboost', 'lightgbm'], space }).success).toBe(true);
  });

  it('names the wrong row of the space, by family', () => {
    const nn = (key: string, patch: Partial<ParamRow>) => ({ ...DEFAULT_ROWS, nn: DEFAULT_ROWS.nn.map((r) => (r.key === key ? ({ ...r, ...patch } as ParamRow) : r)) });
    expect(spacesOf(['nn'], nn('hidden', { text: '16-0' })).errors['space.nn.hidden']).toMatch(/"16-0" is not a shape/);
    expect(spacesOf(['nn'], nn('lr', { low: '0', high: '0.1' })).errors['space.nn.lr']).toBe('Learning rate: a log range starts above 0');
    expect(spacesOf(['nn'], nn('dropout', { low: '0.5', high: '0.1' })).errors['space.nn.dropout']).toBe('Dropout: low is above high');
    const tree = { ...DEFAULT_ROWS, catboost: DEFAULT_ROWS.catboost.map((r) => (r.key === 'depth' ? ({ ...r, low: '4.5' } as ParamRow) : r)) };
    expect(spacesOf(['catboost'], tree).errors).toEqual({ 'space.catboost.depth': 'depth: whole numbers' });
    expect(spacesOf(['nn'], tree).errors).toEqual({}); // a family not checked is not checked
  });

  it("places the Engine's refusal by the field it names", () => {
    expect(placeSweepErrors('startRun: trials: at least 1 trial')).toEqual({ trials: 'at least 1 trial' });
    expect(placeSweepErrors('target: no column "z" in /d/t.csv (columns: a, b, y)\nspace.lr: low above high')).toEqual({ target: 'no column "z" in /d/t.csv (columns: a, b, y)', 'space.lr': 'low above high' });
    expect(placeSweepErrors('/d/t.csv: column a holds NaN in row 3')).toEqual({ form: '/d/t.csv: column a holds NaN in row 3' });
    expect(placeSweepErrors("space: xgboost: key 'subsample': 1.5 is out of range (subsample must be in (0, 1])")).toEqual({ 'space.xgboost.subsample': '1.5 is out of range (subsample must be in (0, 1])' });
    expect(placeSweepErrors("space, family nn: key 'lr': 0 is out of range (lr must be above 0)")).toEqual({ 'space.nn.lr': '0 is out of range (lr must be above 0)' });
    expect(placeSweepErrors("family 'catboost': catboost is not installed; pip install catboost")).toEqual({ families: 'catboost: catboost is not installed; pip install catboost' });
  });
});
