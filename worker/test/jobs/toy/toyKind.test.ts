/**
 * Issue 10: a kind of job is added by adding a module, with no edit to Headroom.
 * The toy kind (toyJob.ts, in the test tree) is listed, started, paused, killed,
 * resumed and summarised through the real CLI (loaded by HEADROOM_JOBS) and the
 * panel's service (registered here). And a run of a kind this Headroom does not
 * know is listed as such, never dropped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLS, RunInfo, type RunEvent } from '../../../src/contract/api.js';
import { historyPath, parseHistory, readHistory } from '../../../src/runs/history.js';
import { registerJob } from '../../../src/jobs/registry.js';
import { RunManager } from '../../../src/panel/runManager.js';
import { cli, startCli, tempDir, waitFor } from '../../helpers.js';
import { job as toyJob } from './toyJob.js';

const TOY = fileURLToPath(new URL('./toyJob.ts', import.meta.url));
const env = { HEADROOM_JOBS: TOY };

function unitIndexes(runDir: string): number[] {
  return readFileSync(join(runDir, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; index?: number })
    .flatMap((record) => (record.type === 'unit_done' ? [record.index!] : []));
}

/** Unit marks the history file holds now (0 before it exists). */
function historyUnits(runDir: string): number {
  if (!existsSync(historyPath(runDir))) return 0;
  return parseHistory(readFileSync(historyPath(runDir), 'utf8')).events.filter((entry) => entry.event.kind === 'unit').length;
}

describe('a toy kind through the CLI', () => {
  it('is started, killed -9, shown by status, resumed and summarised, every unit done exactly once', async () => {
    const out = join(tempDir(), 'toy-run');
    const run = startCli(['toy', '--out', out, '--units', '40', '--unit-ms', '150', '--json'], env); // 6 s of units: a loaded box still kills it midway
    // The kill is timed on the history, the second of the two writes a unit makes (journal, then its mark):
    // timed on the journal it lands between them, which a user's kill in a 150 ms unit all but never does.
    await waitFor(() => historyUnits(out) >= 5, 'five units in the history', 60_000);
    run.kill('SIGKILL');
    await run;
    const killedAt = unitIndexes(out).length;
    expect(killedAt).toBeLessThan(40);

    const status = await cli(['status', out, '--json'], env);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'toy', status: 'interrupted', unitsDone: killedAt, unitsTotal: 40, owner: null });
    const human = await cli(['status', out], env);
    expect(human.stdout).toMatch(/kind +toy/);
    expect(human.stdout).toMatch(new RegExp(`units +${killedAt}/40 \\(150 ms each\\)`));
    expect(human.stdout).toMatch(/continue with: headroom resume/);

    const resumed = await cli(['resume', out, '--json'], env);
    expect(resumed.exitCode).toBe(0);
    const summary = resumed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string }).find((line) => line.event === 'summary');
    expect(summary).toMatchObject({ status: 'done', units: 40, unitsThisSession: 40 - killedAt });
    expect(unitIndexes(out).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(JSON.parse((await cli(['status', out, '--json'], env)).stdout)).toMatchObject({ status: 'done', unitsDone: 40 });

    // The CLI wrote the run's history as it went: the kill -9 lost no mark, and the resume numbered on.
    const history = await readHistory(out);
    const units = history.events.filter((entry) => entry.event.kind === 'unit');
    expect(units.map((entry) => entry.event.index).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(new Set(history.events.map((entry) => entry.seq)).size).toBe(history.events.length);
    const sessions = history.events.filter((entry) => entry.event.kind === 'session').map((entry) => `${String(entry.event.phase)}:${String(entry.event.command ?? entry.event.outcome)}`);
    expect(sessions).toEqual(['start:start', 'start:resume', 'end:done']);
  });

  it('refuses another kind\'s settings flags on resume, naming the kind they are for', async () => {
    const out = join(tempDir(), 'toy-flags');
    expect((await cli(['toy', '--out', out, '--units', '2', '--unit-ms', '1'], env)).exitCode).toBe(0);
    const wrong = await cli(['resume', out, '--oom-policy', 'cpu'], env);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/is a toy run: --oom-policy is for embed runs/);
  });

  it('says which module HEADROOM_JOBS names that does not export a job', async () => {
    const bad = join(tempDir(), 'notAJob.mjs');
    writeFileSync(bad, 'export const nothing = 1;\n');
    const result = await cli(['status', tempDir()], { HEADROOM_JOBS: bad });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/HEADROOM_JOBS: .*notAJob\.mjs exports no `job`/);
    const numbers = join(tempDir(), 'numberJob.mjs');
    writeFileSync(numbers, 'export const job = 42;\n');
    expect((await cli(['status', tempDir()], { HEADROOM_JOBS: numbers })).stderr).toMatch(/the `job` of .*numberJob\.mjs is not a Job \(missing or wrong: kind, unit, /);
    const missing = await cli(['status', tempDir()], { HEADROOM_JOBS: join(tempDir(), 'nowhere.ts') });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/HEADROOM_JOBS: cannot load .*nowhere\.ts: Cannot find module/);
    expect(missing.stderr).not.toMatch(/internal error/);
    const twice = join(tempDir(), 'secondEmbed.mjs');
    writeFileSync(twice, `export const job = { ...(await import(${JSON.stringify(TOY)})).job, kind: 'embed' };\n`);
    const clash = await cli(['status', tempDir()], { HEADROOM_JOBS: twice });
    expect(clash.exitCode).toBe(2);
    expect(clash.stderr).toMatch(/two jobs claim the kind "embed"/);
  });

  it('refuses a runs folder that is a file, exit 2, naming it', async () => {
    const file = join(tempDir(), 'not-a-folder');
    writeFileSync(file, 'x');
    const served = await cli(['serve', '--runs-dir', file]);
    expect(served.exitCode).toBe(2);
    expect(served.stderr).toMatch(/the runs folder .*not-a-folder is a file, not a folder/);
  });
});

describe('a toy kind through the panel service', () => {
  let runsDir: string;
  let manager: RunManager;

  beforeAll(() => {
    registerJob(toyJob);
    runsDir = tempDir();
    manager = new RunManager({ runsDir, monitorGpus: false });
  });
  afterAll(() => manager.close());

  const info = (runId: string): RunInfo => {
    const found = manager.listRuns().find((run) => run.runId === runId);
    if (!found) throw new Error(`${runId} is not listed`);
    return CALLS.listRuns.result.element.parse(found);
  };

  it('is listed, started, paused, stopped, resumed and summarised', async () => {
    const statuses: string[] = [];
    const seen: RunEvent[] = [];
    manager.on('runEvent', (event) => seen.push(event));
    manager.on('runStatus', (run) => statuses.push(`${run.status}:${run.unitsDone}`));
    const { runId } = CALLS.startRun.result.parse(await manager.call('startRun', { kind: 'toy', units: 30, unitMs: 40 }));
    expect(runId).toMatch(/^toy-/);
    await waitFor(() => info(runId).unitsDone >= 3, 'three units', 30_000);
    expect(info(runId)).toMatchObject({ kind: 'toy', known: true, status: 'running', unit: 'units', unitsTotal: 30, unitMs: 40 });

    manager.pauseRun({ runId });
    await waitFor(() => info(runId).status === 'paused', 'paused', 10_000);
    const pausedAt = info(runId).unitsDone;
    await new Promise((done) => setTimeout(done, 400));
    expect(info(runId).unitsDone).toBeLessThanOrEqual(pausedAt + 1); // the unit asleep when paused may finish

    manager.resumeRun({ runId });
    await waitFor(() => info(runId).unitsDone >= pausedAt + 3, 'more units after resume', 30_000);
    manager.stopRun({ runId });
    await waitFor(() => info(runId).status === 'interrupted', 'interrupted', 10_000);
    const stoppedAt = info(runId).unitsDone;
    expect(stoppedAt).toBeLessThan(30);

    manager.resumeRun({ runId });
    await waitFor(() => info(runId).status === 'done', 'done', 30_000);
    expect(info(runId)).toMatchObject({ status: 'done', unitsDone: 30, errors: [] });
    expect(unitIndexes(join(runsDir, runId)).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(statuses.some((s) => s.startsWith('paused:'))).toBe(true);
    expect(statuses.at(-1)).toBe('done:30');

    // What the panel sent live and what it reads back from disk agree: same numbers, nothing twice.
    const history = CALLS.runHistory.result.parse(await manager.call('runHistory', { runId }));
    const liveSeqs = seen.filter((event) => event.runId === runId).map((event) => event.seq);
    expect(liveSeqs).toEqual([...liveSeqs].sort((a, b) => a - b));
    expect(new Set(liveSeqs).size).toBe(liveSeqs.length);
    expect(history.lastSeq).toBe(liveSeqs.at(-1));
    expect(history.events.map((entry) => entry.seq)).toEqual(liveSeqs); // the toy kind has no samples: every event is kept
    const kinds = history.events.map((entry) => (entry.event.kind === 'session' ? `session ${String(entry.event.phase)} ${String(entry.event.outcome ?? entry.event.command)}` : entry.event.kind));
    expect(kinds.filter((kind) => kind.startsWith('session') || kind === 'paused' || kind === 'resumed')).toEqual([
      'session start start',
      'paused',
      'resumed',
      'session end interrupted',
      'session start resume',
      'session end done',
    ]);
    expect(history.counts.unit).toBeGreaterThanOrEqual(30);
  });

  it('keeps a run going when showing it fails (a listener that throws)', async () => {
    const off = manager.on('runStatus', () => {
      throw new Error('a broken listener');
    });
    try {
      const { runId } = await manager.startRun({ kind: 'toy', units: 5, unitMs: 20 });
      await waitFor(() => info(runId).status === 'done', 'done despite the listener', 30_000);
      expect(info(runId).unitsDone).toBe(5);
    } finally {
      off();
    }
  });

  it('refuses a request that is not the kind\'s, and a kind that does not exist, as bad_args', async () => {
    await expect(manager.call('startRun', { kind: 'toy', units: 0 })).rejects.toMatchObject({ code: 'bad_args', message: expect.stringMatching(/startRun: units/) });
    await expect(manager.call('startRun', { kind: 'toy', units: 2, models: [] })).rejects.toMatchObject({ code: 'bad_args' });
    await expect(manager.call('startRun', { kind: 'nope', units: 2 })).rejects.toMatchObject({ code: 'bad_args', message: expect.stringMatching(/no job of kind "nope"/) });
    await expect(manager.call('startRun', { kind: 'constructor', units: 2 })).rejects.toMatchObject({ code: 'bad_args', message: expect.stringMatching(/no job of kind "constructor"/) });
  });
});

describe('a run folder whose run.json is not a file', () => {
  it('is listed as unknown, naming what it is, and every other run still lists; status is exit 2 at once, never blocked', async () => {
    const runsDir = tempDir();
    const good = join(runsDir, 'good');
    expect((await cli(['toy', '--out', good, '--units', '1', '--unit-ms', '1'], env)).exitCode).toBe(0);
    for (const [name, plant] of [
      ['a-fifo', (path: string) => execFileSync('mkfifo', [path])],
      ['a-folder', (path: string) => mkdirSync(path)],
      ['a-link', (path: string) => symlinkSync(join(good, 'run.json'), path)],
      ['to-zero', (path: string) => symlinkSync('/dev/zero', path)],
    ] as const) {
      mkdirSync(join(runsDir, name));
      plant(join(runsDir, name, 'run.json'));
    }
    registerJob(toyJob);
    const manager = new RunManager({ runsDir, monitorGpus: false });
    try {
      const runs = CALLS.listRuns.result.parse(manager.listRuns());
      expect(runs.map((run) => run.runId).sort()).toEqual(['a-fifo', 'a-folder', 'a-link', 'good', 'to-zero']);
      expect(runs.find((run) => run.runId === 'good')).toMatchObject({ kind: 'toy', status: 'done' });
      for (const odd of runs.filter((run) => run.runId !== 'good')) expect(odd).toMatchObject({ known: false, status: 'unknown', errors: [expect.stringMatching(/run\.json/)] });
    } finally {
      await manager.close();
    }
    const fifo = await cli(['status', join(runsDir, 'a-fifo')], env);
    expect(fifo.exitCode).toBe(2);
    expect(fifo.stderr).toMatch(/run\.json is a FIFO, not a file/);
    const zero = await cli(['repair', join(runsDir, 'to-zero')], env);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/run\.json is a symbolic link, not a file/);
  });

  it('of another format of its kind is refused by repair, its journal untouched', async () => {
    const out = join(tempDir(), 'toy-newer');
    expect((await cli(['toy', '--out', out, '--units', '1', '--unit-ms', '1'], env)).exitCode).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { format: number };
    writeFileSync(join(out, 'run.json'), JSON.stringify({ ...manifest, format: 2 }));
    const journal = `${readFileSync(join(out, 'journal.jsonl'), 'utf8')}{"type":"a_record_of_format_2","at":"2027-01-01T00:00:00.000Z"}\n`;
    writeFileSync(join(out, 'journal.jsonl'), journal);
    const repaired = await cli(['repair', out], env);
    expect(repaired.exitCode).toBe(2);
    expect(repaired.stderr).toMatch(/made by another version of Headroom \(run format 2, this one reads 1\)/);
    expect(readFileSync(join(out, 'journal.jsonl'), 'utf8')).toBe(journal);
  });
});

describe('a run of a kind this Headroom does not know', () => {
  it('is listed and shown by status as "unknown kind X", never dropped, and is not resumable', async () => {
    const runsDir = tempDir();
    const dir = join(runsDir, 'from-the-future');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ format: 7, kind: 'quantum', createdAt: '2027-01-01T00:00:00.000Z' }));
    writeFileSync(join(dir, 'journal.jsonl'), '{"type":"run_created","at":"2027-01-01T00:00:00.000Z"}\n');
    const manager = new RunManager({ runsDir, monitorGpus: false });
    try {
      const runs = manager.listRuns();
      expect(runs).toHaveLength(1);
      expect(CALLS.listRuns.result.parse(runs)[0]).toMatchObject({ runId: 'from-the-future', kind: 'quantum', known: false, status: 'unknown', errors: [expect.stringMatching(/unknown kind "quantum"/)] });
      expect(() => manager.resumeRun({ runId: 'from-the-future' })).toThrow(/unknown kind "quantum"/);
      expect(readFileSync(join(dir, 'run.json'), 'utf8')).toContain('quantum'); // nothing touched
    } finally {
      await manager.close();
    }
    const status = await cli(['status', dir]);
    expect(status.exitCode).toBe(2);
    expect(status.stderr).toMatch(/is a run of unknown kind "quantum" \(this Headroom runs: embed, trials\)/);
  });
});
