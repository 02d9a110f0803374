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
import { SearchSpace } from '../../../worker/src/contract/trialsProtocol.ts';
import { useStore } from '../../src/store/index.ts';
import { runPage } from '../../src/views/RunPage.tsx';
import { RunsTable } from '../../src/views/RunsView.tsx';
import { NewSweepForm, placeSweepErrors } from '../../src/views/trials/NewSweepForm.tsx';
import { DEFAULT_SPACE_ROWS, spaceOf } from '../../src/views/trials/space.ts';
import { filterTrials, nextSort, sortTrials } from '../../src/views/trials/tableRows.ts';
import { TrialsTable } from '../../src/views/trials/TrialsTable.tsx';
import { result, trialsRun } from '../store/trialsFixtures.ts';

const render = (node: ReactNode): string => renderToStaticMarkup(createElement(MantineProvider, null, node));
/** The trial numbers of the table's rows, top to bottom. */
const order = (html: string): number[] => [...html.matchAll(/data-trial="(\d+)"/g)].map((m) => Number(m[1]));

// 0: 0.5 (12-6), 1: 0.9 (16-8), 2: failed (12-6), 3: 0.7 (16-8), 4: pruned 0.2 (12-6)
const TRIALS = [result(0, 0.5), result(1, 0.9), result(2, null), result(3, 0.7), result(4, 0.2, { state: 'pruned' })];

beforeEach(() => useStore.setState(useStore.getInitialState(), true));

describe('the trials table', () => {
  it('sorts by the column clicked: the value high first, a failed trial (no value) last either way', () => {
    expect(order(render(createElement(TrialsTable, { trials: TRIALS, bestNumber: 1 })))).toEqual([0, 1, 2, 3, 4]);
    const byValue = nextSort({ key: 'number', dir: 'asc' }, 'value');
    expect(byValue).toEqual({ key: 'value', dir: 'desc' });
    const html = render(createElement(TrialsTable, { trials: TRIALS, bestNumber: 1, initialSort: byValue }));
    expect(order(html)).toEqual([1, 3, 0, 4, 2]);
    expect(html).toContain('aria-sort="descending"');
    expect(sortTrials(TRIALS, nextSort(byValue, 'value')).map((r) => r.number)).toEqual([4, 0, 3, 1, 2]);
    expect(sortTrials(TRIALS, { key: 'hidden', dir: 'asc' }).map((r) => r.params.hidden)).toEqual(['12-6', '12-6', '12-6', '16-8', '16-8']);
    expect(sortTrials(TRIALS, { key: 'lr', dir: 'desc' }).map((r) => r.number)).toEqual([4, 3, 2, 1, 0]);
  });

  it('keeps the rows holding every word typed, and says how many it shows', () => {
    const html = render(createElement(TrialsTable, { trials: TRIALS, bestNumber: 1, initialFilter: 'complete 16-8' }));
    expect(order(html)).toEqual([1, 3]);
    expect(html).toContain('2 of 5 trials');
    expect(filterTrials(TRIALS, 'FAILED').map((r) => r.number)).toEqual([2]);
    expect(filterTrials(TRIALS, '#4').map((r) => r.number)).toEqual([4]);
    expect(filterTrials(TRIALS, 'no-such-thing')).toEqual([]);
    expect(filterTrials(TRIALS, '  ')).toHaveLength(5);
  });

  it('marks the best trial and shows each column', () => {
    const html = render(createElement(TrialsTable, { trials: TRIALS, bestNumber: 1 }));
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

describe('the New sweep form', () => {
  it("starts from the contract's defaults and shows the default space", () => {
    const html = render(createElement(NewSweepForm));
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.trials}"`);
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.epochs}"`);
    expect(html).toContain(`value="${TRIALS_REQUEST_DEFAULTS.patience}"`);
    expect(html).toContain(`value="${DEFAULT_SPACE_ROWS.hidden}"`);
    for (const part of ['Hidden layer shapes', 'Learning rate from', 'Weight decay to', 'Dropout from', 'Start sweep']) expect(html).toContain(part);
  });

  it('sends no space while the default is left as shown, and an Optuna space once edited', () => {
    expect(spaceOf(DEFAULT_SPACE_ROWS)).toEqual({ space: null, errors: {} });
    const { space, errors } = spaceOf({ ...DEFAULT_SPACE_ROWS, hidden: '16-8, 12 x 6', dropout: { low: '0', high: '0.2', log: false } });
    expect(errors).toEqual({});
    expect(SearchSpace.parse(space)).toEqual(space);
    expect(space!.hidden).toEqual({ name: 'CategoricalDistribution', attributes: { choices: ['16-8', '12-6'] } });
    expect(space!.lr).toEqual({ name: 'FloatDistribution', attributes: { low: 0.0001, high: 0.01, log: true, step: null } });
    expect(TrialsRequest.safeParse({ data: 'x.csv', target: 'y', space }).success).toBe(true);
  });

  it('names the wrong row of the space', () => {
    expect(spaceOf({ ...DEFAULT_SPACE_ROWS, hidden: '16-0' }).errors['space.hidden']).toMatch(/"16-0" is not a shape/);
    expect(spaceOf({ ...DEFAULT_SPACE_ROWS, lr: { low: '0', high: '0.1', log: true } }).errors['space.lr']).toBe('Learning rate: a log range starts above 0');
    expect(spaceOf({ ...DEFAULT_SPACE_ROWS, dropout: { low: '0.5', high: '0.1', log: false } }).errors['space.dropout']).toBe('Dropout: low is above high');
  });

  it("places the Engine's refusal by the field it names", () => {
    expect(placeSweepErrors('startRun: trials: at least 1 trial')).toEqual({ trials: 'at least 1 trial' });
    expect(placeSweepErrors('target: no column "z" in /d/t.csv (columns: a, b, y)\nspace.lr: low above high')).toEqual({ target: 'no column "z" in /d/t.csv (columns: a, b, y)', 'space.lr': 'low above high' });
    expect(placeSweepErrors('/d/t.csv: column a holds NaN in row 3')).toEqual({ form: '/d/t.csv: column a holds NaN in row 3' });
  });
});
