/**
 * Found by trying to break issue 10: a stop asked for right after a start, before
 * the run's runtime is listening, was lost and the run went on to done. It must
 * stop the run (interrupted, resumable), and a resume must finish it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunManager } from '../../src/panel/runManager.js';
import { makeCorpus, ofType, records, tempDir, tinyModel, waitFor } from '../helpers.js';

describe('a stop right after a start', () => {
  it('interrupts the run (nothing completed), and a resume finishes it', async () => {
    const dir = tempDir();
    const runsDir = join(dir, 'runs');
    const manager = new RunManager({ runsDir, monitorGpus: false });
    try {
      const { runId } = await manager.startRun({ input: makeCorpus(dir, 120), models: [{ model: tinyModel(), device: 'cpu' }], chunkSize: 10, batchSize: 4 });
      manager.stopRun({ runId });
      const info = (): string => manager.listRuns().find((run) => run.runId === runId)!.status;
      await waitFor(() => info() === 'interrupted', 'the run to stop', 120_000, 100);
      const journal = records(join(runsDir, runId));
      expect(ofType(journal, 'run_completed')).toHaveLength(0);
      expect(ofType(journal, 'run_interrupted').at(-1)?.reason).toMatch(/stopped by a signal/);
      manager.resumeRun({ runId });
      await waitFor(() => info() === 'done', 'the resumed run to finish', 300_000, 200);
      expect(ofType(records(join(runsDir, runId)), 'run_completed')).toHaveLength(1);
    } finally {
      await manager.close();
    }
  }, 600_000);
});
