/**
 * Issue 9, class 4: the panel never deletes or changes a run that another live
 * process owns. A real `headroom embed` is killed (its run is interrupted, its lock
 * stale: the panel may now act on it), then a real `headroom resume` takes the run
 * over; while it holds the lock, every destructive call of the panel's RunManager
 * is refused with `busy`, read fresh from the lock (the panel last saw the run
 * interrupted). The CLI then finishes the run, intact, and can resume it again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCall, type CallName } from '../../src/contract/api.js';
import { RunManager } from '../../src/panel/runManager.js';
import { childPids, cli, embedArgs, killIfAlive, makeCorpus, ofType, readMatrix, records, startCli, tempDir, waitFor } from '../helpers.js';

const journalOf = (runDir: string): ReturnType<typeof records> => (existsSync(join(runDir, 'journal.jsonl')) ? records(runDir) : []);

describe('a run another process owns', () => {
  it('is refused to the panel (busy) while a CLI holds it, and the CLI finishes it intact', async () => {
    const dir = tempDir();
    const corpus = makeCorpus(dir, 200);
    const runsDir = join(dir, 'runs');
    const runId = 'cli-run';
    const runDir = join(runsDir, runId);
    const manager = new RunManager({ runsDir, monitorGpus: false });
    try {
      // 1. A CLI run killed mid-way: interrupted, a stale lock left behind.
      const first = startCli(embedArgs(corpus, runDir, ['--chunk-size', '4']));
      await waitFor(() => ofType(journalOf(runDir), 'session_started').length >= 1, 'the first CLI to take the lock');
      const workers = new Set(childPids(first.pid!));
      process.kill(first.pid!, 'SIGKILL');
      for (const pid of childPids(first.pid!)) workers.add(pid); // once each: a pid seen twice may be reaped after the first kill
      // A runtime may be gone already: its parent-death signal can beat these kills.
      for (const worker of workers) killIfAlive(worker, 'SIGKILL');
      await first;
      expect(existsSync(join(runDir, 'lock'))).toBe(true);
      expect(manager.info(runId).status).toBe('interrupted'); // what the panel shows now

      // 2. Another CLI resumes it; once it holds the lock, it is stopped so nothing moves meanwhile.
      const owner = startCli(['resume', runDir]);
      await waitFor(() => ofType(journalOf(runDir), 'session_started').length >= 2, 'the resume to take the lock');
      process.kill(owner.pid!, 'SIGSTOP');
      const manifest = readFileSync(join(runDir, 'run.json'));
      const journal = readFileSync(join(runDir, 'journal.jsonl'));
      try {
        expect(manager.info(runId).status).toBe('running');
        const attempts: [CallName, Record<string, unknown>][] = [
          ['deleteCache', { runId }],
          ['setPolicy', { runId, oom: 'truncate' }],
          ['setPolicy', { runId, ensembleMode: 'sequential' }],
          ['resumeRun', { runId }],
          ['stopRun', { runId }],
          ['pauseRun', { runId }],
        ];
        for (const [name, args] of attempts) {
          await expect(manager.call(name, checkCall(name, args).args), name).rejects.toMatchObject({
            code: 'busy',
            message: expect.stringContaining(`in use by process ${owner.pid} (`),
          });
        }
        expect(existsSync(runDir)).toBe(true);
        expect(readFileSync(join(runDir, 'run.json')).equals(manifest)).toBe(true);
        expect(readFileSync(join(runDir, 'journal.jsonl')).equals(journal)).toBe(true);
      } finally {
        process.kill(owner.pid!, 'SIGCONT');
      }

      // 3. The CLI finishes, untouched by the panel's attempts; the run is done and complete.
      const result = await owner;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      const status = JSON.parse((await cli(['status', runDir, '--json'])).stdout) as { status: string; owner: number | null };
      expect(status).toMatchObject({ status: 'done', owner: null });
      expect(readMatrix(join(runDir, 'embeddings.npy')).rows).toBe(200);
      const journaled = journalOf(runDir).map((record) => record.type);
      expect(journaled).not.toContain('policy_changed');
      expect(journaled).not.toContain('mode_changed');
      const again = await cli(['resume', runDir]);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(manager.info(runId).status).toBe('done');

      // 4. Owned by no one now: the panel may delete it.
      const { freedBytes } = (await manager.call('deleteCache', { runId })) as { freedBytes: number };
      expect(freedBytes).toBeGreaterThan(0);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      await manager.close();
    }
  }, 180_000);
});
