/** The panel's trials calls through the RunManager, as every transport reaches them: runTrials (trials.jsonl) and inspectData (the runtime). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/contract/api.js';
import { RunManager } from '../../../src/panel/runManager.js';
import { tempDir } from '../../helpers.js';
import { tableRows, writeCsv } from './data.js';
import { trial, writeRun } from './fixtures.js';

describe('trials panel calls', () => {
  let runsDir: string;
  let manager: RunManager;

  beforeAll(() => {
    runsDir = tempDir();
    manager = new RunManager({ runsDir, monitorGpus: false });
  });
  afterAll(async () => {
    await manager.close();
  });

  it('runTrials serves trials.jsonl, damaged lines skipped and named; a missing run is not_found', async () => {
    const dir = writeRun(join(runsDir, 'sweep-1'), []);
    writeFileSync(join(dir, 'trials.jsonl'), `${JSON.stringify(trial(0, 0.3))}\n{"torn\n${JSON.stringify(trial(1, 0.6))}\n`);
    const table = (await manager.call('runTrials', { runId: 'sweep-1' })) as { trials: { number: number }[]; skipped: unknown[] };
    expect(table.trials.map((result) => result.number)).toEqual([0, 1]);
    expect(table.skipped).toEqual([{ line: 2, reason: 'not valid JSON' }]);
    await expect(manager.call('runTrials', { runId: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('inspectData asks the runtime for the columns; a missing file is bad_input naming it', async () => {
    const table = writeCsv(join(tempDir(), 'preview.csv'), tableRows(50));
    const inspection = (await manager.call('inspectData', { path: table })) as { format: string; rows: number; columns: { name: string }[] };
    expect(inspection).toMatchObject({ format: 'csv', rows: 50 });
    expect(inspection.columns.map((column) => column.name)).toEqual(['a', 'b', 'c', 'd', 'y']);
    const missing = join(runsDir, 'absent.csv');
    const failure = await manager.call('inspectData', { path: missing }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: 'bad_input', message: expect.stringContaining('absent.csv') });
  });
});
