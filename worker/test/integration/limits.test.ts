/**
 * Found by trying to break issue 9's promises: a panel asked to start runs without
 * end, a folder standing where an output goes, a run folder named with a secret, and
 * SIGQUIT. Each must be refused or stopped cleanly, with nothing lost.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunManager } from '../../src/panel/runManager.js';
import { cli, embedArgs, makeCorpus, ofType, records, runtimePid, startCli, tempDir, tinyModel, waitFor } from '../helpers.js';

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('limits', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, 300);
  });

  it('the panel runs at most maxRuns at once: more starts are refused (busy), nothing is created', async () => {
    const runsDir = join(dir, 'runs');
    const manager = new RunManager({ runsDir, monitorGpus: false, maxRuns: 1 });
    const spec = { input: makeCorpus(dir, 3000, 'long.jsonl'), models: [{ model: tinyModel(), device: 'cpu' as const }], chunkSize: 4, batchSize: 4 };
    try {
      const { runId } = await manager.startRun(spec);
      await expect(manager.startRun(spec)).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/1 runs are already running.*HEADROOM_MAX_RUNS/) });
      expect(readdirSync(runsDir)).toEqual([runId]);
    } finally {
      await manager.close();
    }
  }, 600_000);

  it('a folder where an output goes: resume exits 2 naming it and replaces nothing; then it finishes', async () => {
    const out = join(dir, 'in-the-way');
    expect((await cli(embedArgs(corpus, out, ['--chunk-size', '100', '--keep-chunks']))).exitCode).toBe(0);
    const embeddings = join(out, 'embeddings.npy');
    const before = sha(embeddings);
    rmSync(join(out, 'ids.txt'));
    mkdirSync(join(out, 'ids.txt'));
    const refused = await cli(['resume', out]);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/ids\.txt is not a regular file.*move it away/);
    expect(sha(embeddings)).toBe(before);
    expect(readdirSync(out).filter((name) => name.includes('.tmp-'))).toEqual([]);
    rmSync(join(out, 'ids.txt'), { recursive: true });
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(sha(embeddings)).toBe(before);
    expect(readFileSync(join(out, 'ids.txt'), 'utf8').split('\n')).toHaveLength(301);
  });

  it('refuses a run folder whose name holds a secret, before anything is created', async () => {
    const out = join(dir, `run-hf_${'Xy7'.repeat(12)}`);
    const result = await cli(embedArgs(corpus, out));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/the run folder \(--out\) ".*hf_\*\*\*" holds what looks like a secret/);
    expect(result.stderr).not.toContain('Xy7Xy7');
    expect(existsSync(out)).toBe(false);
  });

  it('SIGQUIT interrupts resumably: exit 3, run_interrupted journaled', async () => {
    const out = join(dir, 'quit');
    const child = startCli(embedArgs(corpus, out, ['--chunk-size', '4']));
    await waitFor(() => runtimePid(child.pid!) !== undefined && ofType(records(out), 'chunk_done').length >= 1, 'a first chunk');
    child.kill('SIGQUIT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(ofType(records(out), 'run_interrupted')).toHaveLength(1);
  });
});
