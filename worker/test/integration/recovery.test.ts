/**
 * Invariants 1, 3 and 4 by breaking them on purpose: a kill between the rename
 * and the journal line, a killed supervisor, damaged chunk files, a torn journal,
 * and a second owner.
 */
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  childPids,
  cli,
  embedArgs,
  isAlive,
  makeCorpus,
  ofType,
  records,
  startCli,
  tempDir,
  waitFor,
} from '../helpers.js';
import { lockOwner } from '../../src/runs/lock.js';

const CHUNK = ['--chunk-size', '6'];
const FAULT = 'HEADROOM_FAULT_KILL_AFTER_RENAME';

describe('recovery', () => {
  let dir: string;
  let corpus: string;
  let reference: Buffer;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 90);
    const out = join(dir, 'reference');
    expect((await cli(embedArgs(corpus, out, CHUNK))).exitCode).toBe(0);
    reference = readFileSync(join(out, 'embeddings.npy'));
  });

  const embeddings = (out: string): Buffer => readFileSync(join(out, 'embeddings.npy'));
  const lastSession = (out: string) => ofType(records(out), 'session_started').at(-1)!;

  it('recomputes a chunk renamed into place whose journal line never came (kill between the two)', async () => {
    const out = join(dir, 'after-rename');
    const killed = await cli(embedArgs(corpus, out, CHUNK), { [FAULT]: '3' });
    expect(killed.exitCode).toBe(3);
    expect(existsSync(join(out, 'chunks'))).toBe(true);
    const file = ofType(records(out), 'chunk_done').find((r) => r.index === 2)!.file.replace('000002', '000003');
    expect(existsSync(join(out, file))).toBe(true); // renamed into place ...
    expect(ofType(records(out), 'chunk_done').map((r) => r.index)).toEqual([0, 1, 2]); // ... but not journaled
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode).toBe(0);
    expect(lastSession(out).recomputing).toEqual([expect.objectContaining({ index: 3, reason: 'file not in the journal' })]);
    expect(ofType(records(out), 'chunk_done').filter((r) => r.index < 3)).toHaveLength(3); // not recomputed
    expect(embeddings(out).equals(reference)).toBe(true);
  });

  it('detects truncated, zero-tailed, bit-flipped and unjournaled chunks by checksum and recomputes them', async () => {
    const out = join(dir, 'damaged');
    expect((await cli(embedArgs(corpus, out, CHUNK), { [FAULT]: '6' })).exitCode).toBe(3);
    const chunks = ofType(records(out), 'chunk_done');
    const path = (index: number) => join(out, chunks.find((r) => r.index === index)!.file);
    const size = readFileSync(path(0)).length;
    truncateSync(path(0), Math.floor(size / 2));
    const zeroTail = readFileSync(path(1));
    zeroTail.fill(0, size - 64); // right length, numpy would load it silently
    writeFileSync(path(1), zeroTail);
    const flipped = readFileSync(path(2));
    flipped[size - 7] = flipped[size - 7]! ^ 0x01;
    writeFileSync(path(2), flipped);
    const journal = join(out, 'journal.jsonl');
    const lines = readFileSync(journal, 'utf8').split('\n');
    writeFileSync(journal, lines.filter((line) => !(line.includes('"chunk_done"') && line.includes('"index":4,'))).join('\n'));

    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(lastSession(out).recomputing).toEqual([
      expect.objectContaining({ index: 0, reason: 'checksum mismatch' }),
      expect.objectContaining({ index: 1, reason: 'checksum mismatch' }),
      expect.objectContaining({ index: 2, reason: 'checksum mismatch' }),
      expect.objectContaining({ index: 4, reason: 'file not in the journal' }),
      expect.objectContaining({ index: 6, reason: 'file not in the journal' }),
    ]);
    expect(embeddings(out).equals(reference)).toBe(true);
  });

  it('trims a torn journal tail and reopens cleanly', async () => {
    const out = join(dir, 'torn');
    expect((await cli(embedArgs(corpus, out, CHUNK), { [FAULT]: '2' })).exitCode).toBe(3);
    appendFileSync(join(out, 'journal.jsonl'), '{"type":"chunk_done","at":"2026-11-23T00:00:00.000Z","model":"x","in');
    expect(JSON.parse((await cli(['status', out, '--json'])).stdout)).toMatchObject({ status: 'interrupted' });
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const text = readFileSync(join(out, 'journal.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(embeddings(out).equals(reference)).toBe(true);
  });

  it('kills no one twice: a killed CLI takes its worker along, the stale lock is taken over', async () => {
    const out = join(dir, 'cli-killed');
    const child = startCli(embedArgs(corpus, out, CHUNK));
    await waitFor(() => existsSync(join(out, 'journal.jsonl')) && ofType(records(out), 'chunk_done').length >= 2, 'two chunks');
    const worker = childPids(child.pid!)[0]!;
    expect(isAlive(worker)).toBe(true);
    child.kill('SIGKILL');
    await child;
    await waitFor(() => !isAlive(worker), `worker ${worker} to exit after its CLI died`, 5_000);
    expect(lockOwner(join(out, 'lock'))).toBe(child.pid); // stale, left behind
    expect(JSON.parse((await cli(['status', out, '--json'])).stdout)).toMatchObject({ status: 'interrupted', owner: null });
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(embeddings(out).equals(reference)).toBe(true);
    expect(existsSync(join(out, 'lock'))).toBe(false);
  });

  it('refuses a second resume of a running run, clearly, and lets the first finish', async () => {
    const out = join(dir, 'busy');
    const first = startCli(embedArgs(corpus, out, CHUNK));
    await waitFor(() => existsSync(join(out, 'lock')), 'the first run to take its lock');
    const second = await cli(['resume', out]);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`is in use by process ${first.pid}`));
    expect((await first).exitCode).toBe(0);
    expect(embeddings(out).equals(reference)).toBe(true);
  });

  it('is interrupted, resumably, by SIGTERM to the CLI', async () => {
    const out = join(dir, 'sigterm');
    const child = startCli(embedArgs(corpus, out, CHUNK));
    await waitFor(() => existsSync(join(out, 'journal.jsonl')) && ofType(records(out), 'chunk_done').length >= 1, 'a chunk');
    const worker = childPids(child.pid!)[0]!;
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(3);
    expect(isAlive(worker)).toBe(false);
    expect(ofType(records(out), 'run_interrupted').at(-1)?.reason).toMatch(/stopped by a signal/);
    expect((await cli(['resume', out])).exitCode).toBe(0);
    expect(embeddings(out).equals(reference)).toBe(true);
  });
});
