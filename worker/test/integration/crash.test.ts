/**
 * Invariants 1 and 3: kill -9 the worker at random points, again and again;
 * every resume ends with an embeddings.npy byte-identical to an uninterrupted run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, killIfAlive, makeCorpus, ofType, records, seededRandom, runtimePid, startCli, tempDir, waitFor } from '../helpers.js';

const KILLS = 22;
const SEED = Number(process.env.HEADROOM_TEST_SEED ?? 20261123);

describe('SIGKILL of the worker at random points', () => {
  let dir: string;
  let corpus: string;
  let reference: Buffer;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 300);
    const out = join(dir, 'reference');
    expect((await cli(embedArgs(corpus, out, ['--chunk-size', '4']))).exitCode).toBe(0);
    reference = readFileSync(join(out, 'embeddings.npy'));
  });

  it(`survives ${KILLS} kills and resumes to identical bytes (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const out = join(dir, 'killed');
    const log: string[] = [];
    let kills = 0;
    for (let cycle = 0; cycle < KILLS; cycle += 1) {
      const chunksBefore = ofType(records(out), 'chunk_done').length;
      const readyBefore = ofType(records(out), 'worker_ready').length;
      const child = startCli(cycle === 0 ? embedArgs(corpus, out, ['--chunk-size', '4']) : ['resume', out]);
      let worker: number | undefined;
      await waitFor(() => (worker = runtimePid(child.pid!)) !== undefined, 'the worker to start');
      if (random() < 0.3) {
        // while it starts up or loads the model
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3000)));
        log.push(`cycle ${cycle}: kill at startup`);
      } else {
        const after = Math.floor(random() * 3);
        await waitFor(() => ofType(records(out), 'worker_ready').length > readyBefore, 'the worker to be ready');
        await waitFor(() => ofType(records(out), 'chunk_done').length >= chunksBefore + after, `${after} more chunks`);
        log.push(`cycle ${cycle}: kill after ${after} chunk(s)`);
      }
      killIfAlive(worker!, 'SIGKILL'); // a runtime already gone ended with the run: exit 0 below
      const result = await child;
      if (result.exitCode === 0) break; // finished before the kill landed
      expect(result.exitCode, `${log.join('\n')}\n${String(result.stderr)}`).toBe(3);
      expect(String(result.stderr)).toMatch(/run interrupted: .*the Python runtime was killed by SIGKILL/);
      kills += 1;
    }
    expect(kills, log.join('\n')).toBeGreaterThanOrEqual(20);
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; lastInterruption: string };
    expect(status.status).toBe('interrupted');

    const final = await cli(['resume', out]);
    expect(final.exitCode, final.stderr).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
    expect(ofType(records(out), 'run_interrupted').length).toBe(kills);
  }, 900_000);
});
