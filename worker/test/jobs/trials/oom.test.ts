/** Forced OOM (HEADROOM_FAULT_OOM_MEMBERS=4) at --concurrency 8: every trial finishes, the halving is journaled, results equal a clean run's. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../../helpers.js';
import { journalOf, tableRows, trialRecords, writeCsv, writeSpace } from './data.js';

const args = (table: string, space: string, out: string): string[] =>
  ['trials', '--data', table, '--target', 'y', '--space', space, '--out', out, '--trials', '8', '--epochs', '15', '--patience', '0', '--sampler', 'random', '--seed', '4', '--engine', 'batched', '--concurrency', '8', '--device', 'cpu'];

describe('out of memory in a batch', () => {
  it('halves the concurrency, restarts the unfinished trials with their seeds, and ends with the clean run\'s results', async () => {
    const dir = tempDir();
    const table = writeCsv(join(dir, 'table.csv'), tableRows(200, 5));
    const space = writeSpace(join(dir, 'space.json'));
    const [clean, faulty] = await Promise.all([cli(args(table, space, join(dir, 'clean'))), cli(args(table, space, join(dir, 'oom')), { HEADROOM_FAULT_OOM_MEMBERS: '4' })]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(faulty.exitCode, faulty.stderr).toBe(0);
    const records = journalOf(join(dir, 'oom'));
    expect(records.filter((record) => record.type === 'trials_oom').length).toBeGreaterThanOrEqual(1);
    expect(records.find((record) => record.type === 'concurrency')).toMatchObject({ concurrency: 4, reason: 'oom' });
    const results = (out: string) => trialRecords(out).map((record) => ({ seed: record.result.seed, params: record.result.params, value: record.result.value, state: record.result.state })).sort((a, b) => a.seed - b.seed);
    expect(results(join(dir, 'oom'))).toHaveLength(8);
    expect(results(join(dir, 'oom'))).toEqual(results(join(dir, 'clean')));
    const status = JSON.parse((await cli(['status', join(dir, 'oom'), '--json'])).stdout) as { trialsDone: number; concurrency: number };
    expect(status).toMatchObject({ trialsDone: 8, concurrency: 4 });
  }, 600_000);
});
