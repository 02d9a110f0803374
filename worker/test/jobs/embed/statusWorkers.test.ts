/**
 * `headroom status` of a --workers run: a worker of a run no process runs is "stopped" (the run's lock
 * decides, as it decides the run's state), and what the VRAM guard and the leak detector did is listed.
 * A real run folder (createEmbedRun, two CPU workers) with the records a killed session leaves after it.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEmbedRun } from '../../../src/jobs/embed/embedRun.js';
import { runPaths } from '../../../src/jobs/embed/manifest.js';
import { JournalRecord, type NewRecord } from '../../../src/jobs/embed/records.js';
import { runStatus } from '../../../src/jobs/embed/runStatus.js';
import { Journal } from '../../../src/runs/journal.js';
import { acquireLock } from '../../../src/runs/lock.js';
import { cli, embedOptions, makeCorpus, tempDir, tinyModel } from '../../helpers.js';

const GIB = 1024 ** 3;

describe('status of a --workers run', () => {
  let run: string;
  let model: string;

  beforeAll(async () => {
    const dir = tempDir();
    model = tinyModel();
    run = await createEmbedRun(makeCorpus(dir, 30), join(dir, 'run'), embedOptions({ batchSize: 4, workers: ['cpu', 'cpu'] }));
    // What a session killed with -9 leaves: both workers started, the guard and the leak detector at work, w1 given up.
    const journal = Journal.open(runPaths(run).journal, JournalRecord);
    const records: NewRecord[] = [
      { type: 'session_started', pid: 999_999, command: 'embed', pending: 3, recomputing: [] },
      { type: 'worker_started', worker: 'w0', device: 'cpu', pid: 1111, attempt: 0 },
      { type: 'worker_started', worker: 'w1', device: 'cpu', pid: 2222, attempt: 0 },
      { type: 'vram_level', model: 'm', chunk: 2, level: 'warning', used: 9 * GIB, total: 10 * GIB, action: 'warn', budget: null, worker: 'w0' },
      { type: 'leak_warning', model: 'm', chunk: 1, slopeMB: 60.04, driftMB: 120.5, units: 6, recycle: true, worker: 'w1' },
      { type: 'worker_recycled', reason: 'memory baseline rose 120.5 MB since this runtime\'s first unit (limit 50 MB, HEADROOM_LEAK_RECYCLE_MB)', worker: 'w1' },
      { type: 'worker_given_up', worker: 'w1', device: 'cpu', reason: 'died 3 times in a row' },
    ];
    for (const record of records) journal.append(record);
    journal.close();
  });

  it('interrupted: its workers are stopped, given up kept, no pid; the guard section says what the guard did (status and --json)', async () => {
    const json = await cli(['status', run, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as ReturnType<typeof runStatus>;
    expect(report.status).toBe('interrupted');
    expect(report.workers!.map((worker) => [worker.id, worker.state, worker.pid])).toEqual([
      ['w0', 'stopped', null],
      ['w1', 'given_up', null],
    ]);
    expect(report.guard.map((incident) => [incident.kind, incident.worker])).toEqual([
      ['warning', 'w0'],
      ['leak', 'w1'],
      ['recycle', 'w1'],
    ]);
    // the model by the name the user gave; the chunk 1-based, as the progress line counts
    expect(report.guard[0]!.words).toBe(`memory at 90% of 10.00 GiB (warning level) in ${model} chunk 3: nothing done below the critical level`);

    const text = await cli(['status', run]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\nworkers +w0 on cpu: stopped, 0 unit\(s\) done\n +w1 on cpu: given up, 0 unit\(s\) done\n/);
    expect(text.stdout).toContain('\nguard    1 memory warning, 1 leak warning, 1 fresh runtime\n');
    expect(text.stdout).toContain(`\n         w1: memory leak suspected in ${model}: the baseline after clean-up rises 60.0 MB per chunk over 6 chunks (+120.5 MB in all); past the limit`);
    expect(text.stdout).toContain("\n         w1: a fresh runtime took over: memory baseline rose 120.5 MB since this runtime's first unit");
  });

  it('live (a process holds its lock): the same journal says starting, with the pid, not stopped', () => {
    const lock = acquireLock(runPaths(run).lock, run);
    try {
      const report = runStatus(run);
      expect(report.status).toBe('running');
      expect(report.workers!.map((worker) => [worker.state, worker.pid])).toEqual([
        ['starting', 1111],
        ['given_up', null],
      ]);
    } finally {
      lock.release();
    }
    expect(runStatus(run).workers![0]!.state).toBe('stopped');
  });
});
