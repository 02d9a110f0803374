/** Pause, resume and stop of a sweep through its RunControl and signal, in-process as the panel runs it; then resumed to the end. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrialsRequest, type TrialsEvent, type TrialsSettings } from '../../../src/contract/jobs/trials.js';
import { HeadroomError } from '../../../src/errors.js';
import { trialsJob } from '../../../src/jobs/trials/job.js';
import { RunControl } from '../../../src/runs/runControl.js';
import { tempDir } from '../../helpers.js';
import { SMALL_SPACE, tableRows, trialRecords, trialsFile, writeCsv } from './data.js';

describe('steering a sweep', () => {
  it('holds between epochs while paused, stops resumably, and resumes to exactly the trials asked for', async () => {
    const dir = tempDir();
    const out = join(dir, 'run');
    const request = TrialsRequest.parse({
      data: writeCsv(join(dir, 'table.csv'), tableRows(200, 3)),
      target: 'y',
      trials: 6,
      epochs: 30,
      patience: 0,
      concurrency: 2,
      engine: 'batched',
      sampler: 'random',
      device: 'cpu',
      space: { nn: SMALL_SPACE },
    });
    await trialsJob.create(request, out, {});
    const control = new RunControl<TrialsSettings>();
    const abort = new AbortController();
    const events: TrialsEvent[] = [];
    const report = (event: TrialsEvent): void => {
      events.push(event);
      if (event.kind === 'curve' && !control.paused && !events.some((e) => e.kind === 'paused')) control.pause();
      if (event.kind === 'paused') setTimeout(() => control.resume(), 300);
      if (event.kind === 'trialDone' && event.trialsDone >= 2) abort.abort();
    };
    const stopped = await trialsJob.execute(out, { command: 'start', control, signal: abort.signal, report }).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(HeadroomError);
    expect((stopped as HeadroomError).kind).toBe('interrupted');
    const kinds = events.map((event) => event.kind);
    const paused = kinds.indexOf('paused');
    const resumed = kinds.indexOf('resumed');
    expect(paused).toBeGreaterThan(0);
    expect(resumed).toBeGreaterThan(paused);
    expect(kinds.slice(paused, resumed)).not.toContain('curve'); // no epoch trained while paused
    const status = trialsJob.status(out);
    expect(status).toMatchObject({ status: 'interrupted', phase: 'stopped by you' });
    expect(status.trialsDone).toBeGreaterThanOrEqual(2);

    const summary = await trialsJob.execute(out, { command: 'resume' });
    expect(summary).toMatchObject({ status: 'done', trials: 6 });
    expect(trialRecords(out).filter((record) => record.result.state === 'complete')).toHaveLength(6);
    expect(trialsFile(out)).toEqual(trialRecords(out).map((record) => record.result));
  }, 600_000);
});
