/** The sweep session's reducer: what it sends, journals, writes and reports, and what it refuses (no runtime). */
import { describe, expect, it } from 'vitest';
import type { RuntimeToEngine } from '../../../src/contract/protocol.js';
import { openSweep, step, type SweepEffect, type SweepState } from '../../../src/jobs/trials/sweepReducer.js';
import { manifestFor, trial } from './fixtures.js';

const config = { runDir: '/runs/s', spec: manifestFor('/runs/s', 3).spec };
const ready: Extract<RuntimeToEngine, { type: 'ready' }> = { type: 'ready', protocol: 3, pid: 42, python: '3.12', torch: '2.15', sentenceTransformers: '5', cuda: false, devices: [] };

function run(state: SweepState, events: RuntimeToEngine[]): { state: SweepState; effects: SweepEffect[] } {
  const effects: SweepEffect[] = [];
  for (const event of events) {
    const next = step(state, { kind: 'event', event });
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

describe('sweep reducer', () => {
  it('sends sweep with the numbers the journal holds, after a pause when the run is paused', () => {
    const state = openSweep(config, [trial(2, 0.5), trial(0, 0.4), trial(1, null, 'failed')]);
    const { effects } = step(state, { kind: 'ready', ready, paused: true });
    const sent = effects.filter((effect) => effect.kind === 'send').map((effect) => effect.message);
    expect(sent).toEqual([{ type: 'pause' }, { type: 'sweep', spec: config.spec, runDir: '/runs/s', journaled: [0, 1, 2].map((number) => ({ family: 'nn', number })) }]);
    expect(effects[0]).toMatchObject({ kind: 'journal', record: { type: 'worker_ready', pid: 42 } });
  });

  it('journals a finished trial before its trials.jsonl line and its report, and never twice', () => {
    const state = openSweep(config, [trial(0, 0.4)]);
    const { state: after, effects } = run(state, [
      { type: 'trial_done', result: trial(1, 0.6), recovered: false },
      { type: 'trial_done', result: trial(1, 0.9), recovered: true },
      { type: 'trial_done', result: trial(0, 0.1), recovered: true },
    ]);
    expect(effects.map((effect) => effect.kind)).toEqual(['journal', 'trial', 'report', 'report', 'report']);
    expect(effects[2]).toMatchObject({ kind: 'report', event: { kind: 'trialDone', trialsDone: 2, trialsTotal: 3 } });
    expect(effects[3]).toMatchObject({ event: { kind: 'log', line: expect.stringMatching(/trial 1 again/) } });
    expect(after.complete).toBe(2);
  });

  it('ends only with exactly the trials asked for', () => {
    const state = openSweep(config, [trial(0, 0.4), trial(1, 0.3)]);
    const early = run(state, [{ type: 'sweep_done', complete: 3 }]);
    expect(early.effects.at(-1)).toMatchObject({ kind: 'fail', error: { kind: 'internal', message: expect.stringMatching(/journal holds 2 of the 3/) } });
    const done = run(state, [
      { type: 'trial_done', result: trial(2, 0.2), recovered: false },
      { type: 'sweep_done', complete: 3 },
    ]);
    expect(done.effects.at(-1)).toEqual({ kind: 'done' });
  });

  it('journals concurrency changes and OOMs, reports curves, and reads an exit as an interruption', () => {
    const state = openSweep(config, []);
    const { effects } = run(state, [
      { type: 'concurrency', concurrency: 4, reason: 'oom', peak: null, estimate: 100 },
      { type: 'trials_oom', members: 8, concurrency: 4, restarted: [3, 4] },
      { type: 'trial_progress', points: [{ number: 3, epoch: 2, train: 1, val: 2 }] },
      { type: 'error', code: 'bad_input', message: 'table.csv column y: NaN at row 3', fatal: true, document: null },
    ]);
    expect(effects.filter((effect) => effect.kind === 'journal').map((effect) => effect.record.type)).toEqual(['concurrency', 'trials_oom']);
    expect(effects).toContainEqual({ kind: 'report', event: { kind: 'curve', points: [{ number: 3, epoch: 2, train: 1, val: 2 }] } });
    expect(effects.at(-1)).toMatchObject({ kind: 'fail', error: { kind: 'bad_input' } });
    const exit = step(state, { kind: 'exit', exit: { reason: 'crashed', code: undefined, signal: 'SIGKILL', stderrTail: [] }, aborted: false });
    expect(exit.effects).toEqual([{ kind: 'fail', error: expect.objectContaining({ kind: 'interrupted', message: expect.stringMatching(/killed by SIGKILL/) }) }]);
  });

  describe('with several families', () => {
    const families = { runDir: '/runs/f', spec: manifestFor('/runs/f', 2, ['nn', 'xgboost']).spec };

    it('keys a trial by (family, number): the same number in two families is two trials, a repeat of one key is skipped', () => {
      const state = openSweep(families, [trial(0, 0.4)]);
      const { state: after, effects } = run(state, [
        { type: 'trial_done', result: trial(0, 0.7, 'complete', 'xgboost'), recovered: false },
        { type: 'trial_done', result: trial(1, 0.6), recovered: false },
        { type: 'trial_done', result: trial(0, 0.9, 'complete', 'xgboost'), recovered: true },
        { type: 'trial_done', result: trial(0, 0.1), recovered: true },
      ]);
      const journaled = effects.filter((effect) => effect.kind === 'journal').map((effect) => (effect.record.type === 'trial_done' ? [effect.record.result.family, effect.record.result.number, effect.record.result.value] : null));
      expect(journaled).toEqual([
        ['xgboost', 0, 0.7],
        ['nn', 1, 0.6],
      ]);
      const logs = effects.filter((effect) => effect.kind === 'report' && effect.event.kind === 'log').map((effect) => (effect.kind === 'report' && effect.event.kind === 'log' ? effect.event.line : ''));
      expect(logs).toEqual([expect.stringMatching(/xgboost trial 0 again/), expect.stringMatching(/nn trial 0 again/)]);
      expect(effects.find((effect) => effect.kind === 'report' && effect.event.kind === 'trialDone')).toMatchObject({ event: { trialsDone: 2, trialsTotal: 4 } });
      expect(after.complete).toBe(3);
      expect(after.completeBy).toEqual(new Map([['nn', 2], ['xgboost', 1]]));
    });

    it("sends the journaled trials as keys, in the spec's family order", () => {
      const state = openSweep(families, [trial(1, 0.5, 'complete', 'xgboost'), trial(1, 0.4), trial(0, 0.3, 'complete', 'xgboost'), trial(0, null, 'failed')]);
      const { effects } = step(state, { kind: 'ready', ready, paused: false });
      expect(effects.find((effect) => effect.kind === 'send')).toMatchObject({
        message: { type: 'sweep', journaled: [{ family: 'nn', number: 0 }, { family: 'nn', number: 1 }, { family: 'xgboost', number: 0 }, { family: 'xgboost', number: 1 }] },
      });
    });

    it('journals and reports sweep_opened per family, tree workers, tree OOMs and family_done', () => {
      const state = openSweep(families, [trial(0, 0.4), trial(1, 0.5)]);
      const { effects } = run(state, [
        { type: 'sweep_opened', family: 'xgboost', complete: 0, failedStale: [], engine: 'worker', engineWhy: '2 workers on the CPU', concurrency: 2, memberBytes: 0, roomBytes: null, device: 'cpu' },
        { type: 'tree_worker', family: 'xgboost', slot: 0, pid: 99, device: 'cpu', visibleDevices: '', threads: 1, reason: 'replaced', detail: 'killed by SIGKILL' },
        { type: 'tree_oom', family: 'xgboost', number: 0, device: 'cuda:0', action: 'cpu', workers: 0, message: 'out of memory' },
        { type: 'trial_done', result: trial(0, 0.6, 'complete', 'xgboost'), recovered: false },
        { type: 'trial_done', result: trial(1, 0.7, 'complete', 'xgboost'), recovered: false },
        { type: 'family_done', family: 'xgboost', complete: 2, ms: 1234 },
        { type: 'sweep_done', complete: 4 },
      ]);
      expect(effects.filter((effect) => effect.kind === 'journal').map((effect) => effect.record.type)).toEqual(['sweep_opened', 'tree_worker', 'tree_oom', 'trial_done', 'trial_done', 'family_done']);
      expect(effects.filter((effect) => effect.kind === 'report').map((effect) => effect.event.kind)).toEqual(['engine', 'treeWorker', 'treeOom', 'trialDone', 'trialDone', 'familyDone']);
      expect(effects[0]).toMatchObject({ kind: 'journal', record: { type: 'sweep_opened', family: 'xgboost', engine: 'worker' } });
      expect(effects.find((effect) => effect.kind === 'report' && effect.event.kind === 'engine')).toMatchObject({ event: { family: 'xgboost', engine: 'worker', concurrency: 2 } });
      expect(effects.at(-1)).toEqual({ kind: 'done' });
    });

    it('refuses a family_done or sweep_done whose count per family the journal does not hold, and a family the sweep has not', () => {
      const state = openSweep(families, [trial(0, 0.4), trial(1, 0.5), trial(0, 0.6, 'complete', 'xgboost')]);
      expect(run(state, [{ type: 'family_done', family: 'xgboost', complete: 2, ms: 5 }]).effects.at(-1)).toMatchObject({
        kind: 'fail',
        error: { kind: 'internal', message: expect.stringMatching(/xgboost family with 2 complete trials; the journal holds 1 of the 2/) },
      });
      // 4 complete over all, but 3 of nn and 1 of xgboost: not the sweep asked for.
      const lopsided = openSweep(families, [trial(0, 0.4), trial(1, 0.5), trial(2, 0.5), trial(0, 0.6, 'complete', 'xgboost')]);
      expect(run(lopsided, [{ type: 'sweep_done', complete: 4 }]).effects.at(-1)).toMatchObject({ kind: 'fail', error: { message: expect.stringMatching(/nn 3, xgboost 1; 2 each/) } });
      expect(run(state, [{ type: 'trial_done', result: trial(0, 0.6, 'complete', 'catboost'), recovered: false }]).effects).toEqual([
        { kind: 'fail', error: expect.objectContaining({ kind: 'internal', message: expect.stringMatching(/catboost trial; this sweep searches nn, xgboost/) }) },
      ]);
    });
  });
});
