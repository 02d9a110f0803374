/**
 * Issue 9, class 9: a hung worker (SIGSTOP: alive, silent) is noticed by its missing
 * heartbeat, its process group killed, a fresh worker started and the unit in flight
 * redone; the hang is journaled and shown. Hangs in a row without progress stop the
 * run, resumable (exit 3). The heartbeat timeout is shortened for the test through
 * HEADROOM_HEARTBEAT_TIMEOUT_S (the default is 120 s).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, isAlive, makeCorpus, ofType, records, startCli, tempDir, waitFor } from '../helpers.js';

const TIMEOUT_S = 4;
const HEARTBEAT = { HEADROOM_HEARTBEAT_TIMEOUT_S: String(TIMEOUT_S) };
const CHUNK = ['--chunk-size', '4'];

/** The worker pids of a --json run, as its `worker` events name them. */
function watchWorkers(child: ResultPromise): { pids: number[]; lines: string[] } {
  const seen = { pids: [] as number[], lines: [] as string[] };
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      seen.lines.push(line);
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as { event: string; pid?: number };
      if (event.event === 'runtime') seen.pids.push(event.pid!);
    }
  });
  return seen;
}

describe('a hung worker', () => {
  let dir: string;
  let corpus: string;
  let reference: Buffer;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 160);
    const out = join(dir, 'reference');
    const result = await cli(embedArgs(corpus, out, CHUNK));
    expect(result.exitCode, result.stderr).toBe(0);
    reference = readFileSync(join(out, 'embeddings.npy'));
  });

  it('is killed after the heartbeat timeout, replaced, and its chunk redone: identical bytes', async () => {
    const out = join(dir, 'stopped');
    const child = startCli(embedArgs(corpus, out, [...CHUNK, '--json']), HEARTBEAT);
    const seen = watchWorkers(child);
    await waitFor(() => seen.pids.length === 1, 'the first worker');
    await waitFor(() => ofType(records(out), 'chunk_done').length >= 2, 'two chunks done');
    const stopped = seen.pids[0]!;
    process.kill(stopped, 'SIGSTOP');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
    expect(isAlive(stopped)).toBe(false); // its group was killed, not left stopped

    const hangs = ofType(records(out), 'worker_hung');
    const hang = hangs.find((record) => record.pid === stopped)!;
    expect(hang).toMatchObject({ timeoutS: TIMEOUT_S, model: expect.any(String) as string, inARow: 1 });
    expect(hang.silentS).toBeGreaterThanOrEqual(TIMEOUT_S);
    expect(hang.chunk).not.toBeNull();
    expect(seen.pids.length).toBe(1 + hangs.length); // one fresh worker per hang
    const shown = seen.lines.filter((line) => line.includes('"runtime_hung"')).map((line) => JSON.parse(line) as { pid: number }).at(0);
    expect(shown).toMatchObject({ pid: stopped, giveUp: false });
    // The unit in flight was redone by the fresh worker, once in the journal.
    const redone = ofType(records(out), 'chunk_done').filter((record) => record.index === hang.chunk);
    expect(redone).toHaveLength(1);
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; hangs: number };
    expect(status).toMatchObject({ status: 'done', hangs: hangs.length });
  }, 300_000);

  it('stops the run, resumable (exit 3), after 3 hangs in a row; resume finishes identical', async () => {
    const out = join(dir, 'always-stopped');
    const child = startCli(embedArgs(corpus, out, [...CHUNK, '--json']), HEARTBEAT);
    const seen = watchWorkers(child);
    const stopped = new Set<number>();
    const stopEach = setInterval(() => {
      for (const pid of seen.pids) {
        if (stopped.has(pid)) continue;
        stopped.add(pid);
        process.kill(pid, 'SIGSTOP');
      }
    }, 5);
    const result = await child.finally(() => clearInterval(stopEach));
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(String(result.stderr)).toMatch(/run interrupted: the Python runtime hung 3 times in a row .*headroom resume/);
    const hangs = ofType(records(out), 'worker_hung');
    expect(hangs.map((hang) => hang.inARow).slice(-3)).toEqual([1, 2, 3]);
    expect(ofType(records(out), 'run_interrupted')).toHaveLength(1);
    expect(JSON.parse((await cli(['status', out, '--json'])).stdout)).toMatchObject({ status: 'interrupted' });

    const resumed = await cli(['resume', out], HEARTBEAT);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
  }, 300_000);
});
