/**
 * Issue 14: several workers for one embed run (`--workers cpu,cpu`, one thread
 * each), with the real runtime and the tiny test model. The matrix is the one
 * worker's byte for byte (same thread count, same fixed batches), both workers did
 * work, and a worker killed (SIGKILL) or hung (SIGSTOP, a short heartbeat timeout)
 * is replaced while the other goes on, its units redone. Bad --workers values
 * exit 2 and create nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, isAlive, makeCorpus, ofType, records, startCli, tempDir, waitFor } from '../../helpers.js';
import type { JournalRecord } from '../../../src/jobs/embed/records.js';

const ONE_THREAD = { HEADROOM_WORKER_THREADS: '1' };
const CHUNK = ['--chunk-size', '4'];
const TWO = ['--workers', 'cpu,cpu'];

const journal = (out: string): JournalRecord[] => (existsSync(join(out, 'journal.jsonl')) ? records(out) : []);

/** A worker's (w1 unless named) latest runtime pid, once it has finished a unit (so it holds the next ones). */
async function busyPid(out: string, worker = 'w1'): Promise<number> {
  await waitFor(() => ofType(journal(out), 'chunk_done').some((record) => record.worker === worker), `a unit done by ${worker}`, 120_000, 2);
  return ofType(journal(out), 'worker_started').findLast((record) => record.worker === worker)!.pid;
}

describe('--workers cpu,cpu', () => {
  let dir: string;
  let corpus: string;
  let reference: Buffer;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 48);
    const out = join(dir, 'one-worker');
    const result = await cli(embedArgs(corpus, out, CHUNK), ONE_THREAD);
    expect(result.exitCode, result.stderr).toBe(0);
    reference = readFileSync(join(out, 'embeddings.npy'));
    expect(new Set(ofType(records(out), 'chunk_done').map((record) => record.worker))).toEqual(new Set(['w0']));
  }, 180_000);

  it('gives the one-worker matrix byte for byte, and both workers did work', async () => {
    const out = join(dir, 'two-workers');
    const child = startCli(embedArgs(corpus, out, [...CHUNK, ...TWO]), ONE_THREAD);
    // Left alone, a worker whose start-up lags (a loaded box) can find the queue already empty: the run is
    // right, but "both did work" is not shown. So each is held (SIGSTOP) while the other does a unit.
    const w0Pid = (): number | undefined => ofType(journal(out), 'worker_started').find((record) => record.worker === 'w0')?.pid;
    await waitFor(() => w0Pid() !== undefined, 'w0 started', 60_000, 2);
    const w0 = w0Pid()!;
    process.kill(w0, 'SIGSTOP'); // before its torch is loaded: it cannot have done anything yet
    const w1 = await busyPid(out);
    process.kill(w1, 'SIGSTOP'); // w1, up and fast, would otherwise empty the queue while w0 loads
    process.kill(w0, 'SIGCONT');
    await busyPid(out, 'w0');
    process.kill(w1, 'SIGCONT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
    const done = ofType(records(out), 'chunk_done');
    expect(done).toHaveLength(12);
    expect(new Set(done.map((record) => record.worker))).toEqual(new Set(['w0', 'w1']));
    expect(new Set(done.map((record) => record.device))).toEqual(new Set(['cpu']));
    const started = ofType(records(out), 'worker_started');
    expect(started.map((record) => [record.worker, record.device, record.attempt])).toEqual(expect.arrayContaining([['w0', 'cpu', 0], ['w1', 'cpu', 0]]));
    // run.json keeps the workers, so a resume uses the same
    expect((JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { spec: { workers: string[] } }).spec.workers).toEqual(['cpu', 'cpu']);
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { status: string; workers: { id: string; chunksDone: number }[] };
    expect(status.status).toBe('done');
    expect(status.workers.map((worker) => worker.id)).toEqual(['w0', 'w1']);
    expect(status.workers.reduce((sum, worker) => sum + worker.chunksDone, 0)).toBe(12);
  }, 180_000);

  it('restarts a worker killed mid-run (SIGKILL); its units are redone, the other goes on; identical bytes', async () => {
    const out = join(dir, 'killed');
    const child = startCli(embedArgs(corpus, out, [...CHUNK, ...TWO]), ONE_THREAD);
    const pid = await busyPid(out);
    process.kill(pid, 'SIGSTOP'); // holds its units while the kill is aimed: the run cannot end first
    process.kill(pid, 'SIGKILL');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
    expect(isAlive(pid)).toBe(false);
    const all = records(out);
    const died = ofType(all, 'worker_died');
    expect(died).toHaveLength(1);
    expect(died[0]).toMatchObject({ worker: 'w1', pid, inARow: 1 });
    expect(died[0]!.chunk).not.toBeNull();
    expect(ofType(all, 'worker_restarted')).toEqual([expect.objectContaining({ worker: 'w1', device: 'cpu', after: 'died', attempt: 1 })]);
    // the unit it held was done once, after the death
    const redone = ofType(all, 'chunk_done').filter((record) => record.model === died[0]!.model && record.index === died[0]!.chunk);
    expect(redone).toHaveLength(1);
    expect(all.indexOf(redone[0]!)).toBeGreaterThan(all.indexOf(died[0]!));
    // the restart is in the history the panel draws
    const history = readFileSync(join(out, 'history.jsonl'), 'utf8');
    expect(history).toMatch(/"kind":"worker"[^\n]*"phase":"restarted"|"phase":"restarted"[^\n]*"kind":"worker"/);
  }, 180_000);

  it('replaces a worker that hangs (SIGSTOP) after the heartbeat timeout; the run completes identical', async () => {
    const out = join(dir, 'hung');
    const child = startCli(embedArgs(corpus, out, [...CHUNK, ...TWO]), { ...ONE_THREAD, HEADROOM_HEARTBEAT_TIMEOUT_S: '2' });
    const pid = await busyPid(out);
    process.kill(pid, 'SIGSTOP');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(reference)).toBe(true);
    expect(isAlive(pid)).toBe(false); // its group was killed, not left stopped
    const all = records(out);
    const hung = ofType(all, 'worker_hung');
    expect(hung).toEqual([expect.objectContaining({ worker: 'w1', pid, timeoutS: 2, inARow: 1 })]);
    expect(ofType(all, 'worker_restarted')).toEqual([expect.objectContaining({ worker: 'w1', after: 'hung', attempt: 1 })]);
    expect(ofType(all, 'worker_started').filter((record) => record.worker === 'w1')).toHaveLength(2);
  }, 180_000);

  it.each([
    [['--workers', 'cuda:x'], /"cuda:x" is not a worker device/],
    [['--workers', 'cpu,,cpu'], /"" is not a worker device \(an empty entry/],
    [['--workers', ''], /"" is not a worker device/],
    [['--workers', 'cuda:99'], /"cuda:99" is not on this machine/],
    [['--device', 'cuda:0', '--workers', 'cpu,cpu'], /--device cuda:0 contradicts --workers cpu,cpu/],
  ])('refuses %j with exit 2, naming the value, creating nothing', async (flags, message) => {
    const out = join(dir, `bad-${flags.join('-').replace(/[^a-z0-9]/gi, '_')}`);
    const args = embedArgs(corpus, out, CHUNK).filter((arg, i, all) => !(flags.includes('--device') && (arg === '--device' || all[i - 1] === '--device')));
    const result = await cli([...args, ...flags]);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
