/**
 * A runtime that hangs mid-sweep (SIGSTOPped: it sends nothing, not even its heartbeat) is killed as hung after
 * HEADROOM_HEARTBEAT_TIMEOUT_S and a fresh one goes on in the same invocation, opening the study as a resume does:
 * the trials it left RUNNING are failed and asked again, and the sweep ends with exactly --trials COMPLETE trials,
 * the hang journaled. Hangs in a row with nothing finished in between stop the run, resumable (exit 3).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSweep, step } from '../../../src/jobs/trials/sweepReducer.js';
import type { RuntimeExit } from '../../../src/supervisor/runtimeProcess.js';
import { cli, isAlive, runtimePid, startCli, tempDir, waitFor } from '../../helpers.js';
import { journalOf, studyTrials, tableRows, trialRecords, trialsFile, writeCsv, writeSpace } from './data.js';
import { manifestFor, trial } from './fixtures.js';

const TRIALS = 4;
const args = (table: string, space: string, out: string, epochs = 10): string[] =>
  ['trials', '--data', table, '--target', 'y', '--space', space, '--out', out, '--trials', String(TRIALS), '--epochs', String(epochs), '--patience', '0', '--sampler', 'random', '--seed', '5', '--engine', 'batched', '--concurrency', '2', '--device', 'cpu'];
const HANG_ENV = { HEADROOM_HEARTBEAT_TIMEOUT_S: '2' };
const readies = (out: string): number[] => journalOf(out).flatMap((record) => (record.type === 'worker_ready' ? [record.pid] : []));

describe('a tree worker whose memory baseline keeps rising', () => {
  const config = { runDir: '/runs/l', spec: manifestFor('/runs/l', 3).spec };
  const MB = 1024 ** 2;
  const feed = (series: number[]): string[] => {
    let state = openSweep(config, []);
    const lines: string[] = [];
    series.forEach((mb, number) => {
      const next = step(state, { kind: 'event', event: { type: 'tree_baseline', family: 'xgboost', slot: 0, pid: 4242, number, bytes: Math.round(mb * MB) } });
      state = next.state;
      for (const effect of next.effects) if (effect.kind === 'report' && effect.event.kind === 'log') lines.push(effect.event.line);
    });
    return lines;
  };

  it('is said once, with its slope per trial; a flat noisy one is not', () => {
    const rising = feed(Array.from({ length: 12 }, (_, i) => 200 + 20 * i));
    expect(rising).toHaveLength(1);
    expect(rising[0]).toMatch(/memory leak suspected in xgboost worker 0 \(pid 4242\): its baseline after clean-up rises 20\.0 MB per trial/);
    expect(feed(Array.from({ length: 12 }, (_, i) => 200 + (i % 3) * 3 - (i % 2) * 2))).toEqual([]);
  });
});

describe('a hung runtime during an NN sweep', () => {
  it('ends the reducer\'s session with the trials it had started and not finished (any other exit: interrupted)', () => {
    const config = { runDir: '/runs/h', spec: manifestFor('/runs/h', 3).spec };
    let state = openSweep(config, [trial(0, 0.4)]);
    for (const event of [
      { type: 'trial_started', family: 'nn', number: 1, params: trial(1, 0).params, seed: 1, members: 1 },
      { type: 'trial_started', family: 'nn', number: 2, params: trial(2, 0).params, seed: 2, members: 1 },
      { type: 'trial_done', result: trial(1, 0.5), recovered: false },
    ] as const) state = step(state, { kind: 'event', event }).state;
    const exit: RuntimeExit = { reason: 'hung', code: undefined, signal: 'SIGKILL', stderrTail: [], silentMs: 2100, timeoutMs: 2000 };
    expect(step(state, { kind: 'exit', exit, aborted: false }).effects).toEqual([{ kind: 'hung', silentMs: 2100, timeoutMs: 2000, running: [{ family: 'nn', number: 2 }] }]);
    expect(step(state, { kind: 'exit', exit, aborted: true }).effects).toMatchObject([{ kind: 'fail', error: { kind: 'interrupted', message: 'run interrupted: stopped by a signal' } }]);
    expect(step(state, { kind: 'exit', exit: { ...exit, reason: 'crashed' }, aborted: false }).effects).toMatchObject([{ kind: 'fail', error: { kind: 'interrupted' } }]);
  });

  it('is killed, replaced by a fresh runtime, and the sweep completes with exactly the trials asked for', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(240, 11));
    const space = writeSpace(join(dir, 'space.json'));
    const out = join(dir, 'run');
    const child = startCli(args(table, space, out), HANG_ENV);
    await waitFor(() => trialRecords(out).length >= 1 || child.exitCode !== null, 'a first finished trial', 120_000);
    const stopped = readies(out)[0]!;
    expect(runtimePid(child.pid!)).toBe(stopped);
    process.kill(stopped, 'SIGSTOP');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(isAlive(stopped)).toBe(false);
    expect(String(result.stderr)).toMatch(new RegExp(`runtime ${stopped} sent nothing for [\\d.]+ s \\(limit 2 s\\).*: killed as hung; a fresh runtime goes on`));

    const records = journalOf(out);
    const hangs = records.filter((record) => record.type === 'worker_hung');
    expect(hangs).toMatchObject([{ pid: stopped, timeoutS: 2, inARow: 1 }]);
    expect(hangs[0]!.silentS).toBeGreaterThanOrEqual(2); // silent past 2 s, journaled to 0.1 s (2.04 s is 2)
    expect(records.filter((record) => record.type === 'session_started')).toHaveLength(1); // the same invocation went on
    const ready = readies(out);
    expect(ready).toHaveLength(2);
    expect(ready[1]).not.toBe(stopped);
    // The fresh runtime's study failed what the hung one left running and asked it again.
    const opened = records.filter((record) => record.type === 'sweep_opened');
    expect(opened).toHaveLength(2);
    expect(opened[1]!.failedStale).toEqual(expect.arrayContaining(hangs[0]!.running.map((trial) => trial.number)));

    const journaled = trialRecords(out).map((record) => record.result);
    const complete = journaled.filter((trial) => trial.state === 'complete');
    expect(complete).toHaveLength(TRIALS);
    expect(new Set(journaled.map((trial) => trial.number)).size).toBe(journaled.length);
    expect(trialsFile(out)).toEqual(journaled);
    const study = studyTrials(out);
    expect(study.filter((trial) => trial.state === 'RUNNING')).toEqual([]);
    expect(study.filter((trial) => trial.state === 'COMPLETE').map((trial) => [trial.number, trial.value]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      complete.map((trial) => [trial.number, trial.value]).sort((a, b) => a[0]! - b[0]!),
    );
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; trialsDone: number; hangs: number };
    expect(status).toMatchObject({ status: 'done', trialsDone: TRIALS, hangs: 1 });
  }, 120_000);

  it('stops the run, resumable (exit 3), after 3 hangs in a row with nothing finished in between; a resume completes it', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(240, 11));
    const space = writeSpace(join(dir, 'space.json'));
    const out = join(dir, 'run');
    const child = startCli(args(table, space, out), HANG_ENV);
    const stopped: number[] = [];
    // Each runtime is stopped as soon as it is journaled ready: seconds before its study is open, so no trial finishes.
    while (stopped.length < 3) {
      await waitFor(() => readies(out).length > stopped.length || child.exitCode !== null, `runtime ${stopped.length + 1} to be ready`, 120_000);
      if (child.exitCode !== null) break;
      const pid = readies(out).at(-1)!;
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    }
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(String(result.stderr)).toContain('the Python runtime hung 3 times in a row');
    expect(String(result.stderr)).toContain(`headroom resume ${out}`);
    const records = journalOf(out);
    expect(records.filter((record) => record.type === 'worker_hung').map((record) => [record.pid, record.inARow])).toEqual(stopped.map((pid, i) => [pid, i + 1]));
    expect(trialRecords(out)).toEqual([]);
    expect(records.at(-1)).toMatchObject({ type: 'run_interrupted' });
    for (const pid of stopped) expect(isAlive(pid)).toBe(false);

    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(trialRecords(out).filter((record) => record.result.state === 'complete')).toHaveLength(TRIALS);
    expect(studyTrials(out).filter((trial) => trial.state === 'RUNNING')).toEqual([]);
  }, 240_000);
});
