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
    expect(sent).toEqual([{ type: 'pause' }, { type: 'sweep', spec: config.spec, runDir: '/runs/s', journaled: [0, 1, 2] }]);
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
});
