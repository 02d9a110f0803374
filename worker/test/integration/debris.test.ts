/**
 * What a crash leaves behind is cleaned the next time the run is opened (issue 9,
 * class 10): a real SIGKILL of the Engine at the two moments that leave debris,
 * through the documented HEADROOM_FAULT_KILL_AT switch (worker/src/faults.ts).
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, makeCorpus, ofType, records, startCli, tempDir } from '../helpers.js';

const CHUNK = ['--chunk-size', '4'];
const ROWS = 16;
const DIM = 32; // the tiny test model's
const NPY_HEADER = 128;

describe('debris of a crash', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, ROWS);
  });

  it('removes the full-size embeddings.npy.tmp-PID a kill during assembly left, and finishes the run', async () => {
    const out = join(dir, 'assembly');
    const killed = await startCli(embedArgs(corpus, out, CHUNK), { HEADROOM_FAULT_KILL_AT: 'assembly' });
    expect(killed.signal).toBe('SIGKILL');
    const leftover = readdirSync(out).filter((name) => /^embeddings\.npy\.tmp-\d+$/.test(name));
    expect(leftover).toHaveLength(1);
    expect(statSync(join(out, leftover[0]!)).size).toBe(NPY_HEADER + ROWS * DIM * 4);
    // Files Headroom does not name are not its to remove.
    writeFileSync(join(out, 'notes.txt.tmp-12'), 'mine');
    const resumed = await cli(['resume', out, '--verbose']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/removed what a crash left: embeddings\.npy\.tmp-\d+/);
    expect(readdirSync(out).filter((name) => name.includes('.tmp-'))).toEqual(['notes.txt.tmp-12']);
    expect(existsSync(join(out, 'chunks'))).toBe(false);
  });

  it('removes chunks/ a kill after completion left, without recomputing anything', async () => {
    const out = join(dir, 'completed');
    const killed = await startCli(embedArgs(corpus, out, CHUNK), { HEADROOM_FAULT_KILL_AT: 'completed' });
    expect(killed.signal).toBe('SIGKILL');
    expect(readdirSync(join(out, 'chunks'))).toHaveLength(1);
    const sessions = ofType(records(out), 'session_started').length;
    const resumed = await cli(['resume', out, '--json']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(existsSync(join(out, 'chunks'))).toBe(false);
    expect(ofType(records(out), 'session_started')).toHaveLength(sessions); // done already: no new session
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'summary', status: 'done', rows: ROWS });
  });

  it('keeps chunks/ of a completed run made with --keep-chunks', async () => {
    const out = join(dir, 'kept');
    const killed = await startCli(embedArgs(corpus, out, [...CHUNK, '--keep-chunks']), { HEADROOM_FAULT_KILL_AT: 'completed' });
    expect(killed.signal).toBe('SIGKILL');
    expect((await cli(['resume', out])).exitCode).toBe(0);
    expect(readdirSync(join(out, 'chunks'))).toHaveLength(1);
  });
});
