import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonExecutable, RUNTIME_DIR } from '../../src/runtimePaths.js';
import { cli, embedArgs, makeCorpus, maxAbsDiff, ofType, readMatrix, records, tempDir, tinyModel } from '../helpers.js';

describe('headroom embed', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, 60);
  });

  it('writes embeddings.npy and ids.txt in input order, equal to SentenceTransformer.encode', async () => {
    const out = join(dir, 'run-a');
    const result = await cli(embedArgs(corpus, out, ['--chunk-size', '7']));
    expect(result.stderr).toContain('done: 60 x 32');
    expect(result.exitCode).toBe(0);
    const ids = readFileSync(join(out, 'ids.txt'), 'utf8').trimEnd().split('\n');
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => `doc-${i}`));
    expect(existsSync(join(out, 'chunks'))).toBe(false); // removed after assembly
    const ours = readMatrix(join(out, 'embeddings.npy'));
    expect([ours.rows, ours.cols]).toEqual([60, 32]);

    // The same texts through sentence-transformers directly, in one call.
    const reference = join(dir, 'direct.npy');
    const script = [
      'import json, sys, numpy as np',
      'from sentence_transformers import SentenceTransformer',
      'texts = [json.loads(l)["text"] for l in open(sys.argv[2])]',
      'np.save(sys.argv[3], SentenceTransformer(sys.argv[1], device="cpu").encode(texts, batch_size=4).astype("<f4"))',
    ].join('\n');
    await execa(pythonExecutable(), ['-c', script, tinyModel(), corpus, reference], {
      env: { ...process.env, PYTHONPATH: RUNTIME_DIR, HF_HUB_OFFLINE: '1' },
    });
    expect(maxAbsDiff(ours, readMatrix(reference))).toBeLessThan(1e-5);
  });

  it('gives the same matrix in chunks as in one chunk (1e-6), and byte-identical runs for one plan', async () => {
    const one = join(dir, 'one-chunk');
    const chunkedA = join(dir, 'chunked-a');
    const chunkedB = join(dir, 'chunked-b');
    for (const [out, size] of [[one, '1000'], [chunkedA, '5'], [chunkedB, '5']] as const) {
      expect((await cli(embedArgs(corpus, out, ['--chunk-size', size]))).exitCode).toBe(0);
    }
    expect(maxAbsDiff(readMatrix(join(one, 'embeddings.npy')), readMatrix(join(chunkedA, 'embeddings.npy')))).toBeLessThan(1e-6);
    expect(readFileSync(join(chunkedA, 'embeddings.npy')).equals(readFileSync(join(chunkedB, 'embeddings.npy')))).toBe(true);
  });

  it('speaks JSON lines with --json, keeps chunks with --keep-chunks, and reports status', async () => {
    const out = join(dir, 'json-run');
    const result = await cli(embedArgs(corpus, out, ['--chunk-size', '20', '--json', '--keep-chunks']));
    expect(result.exitCode).toBe(0);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string; rows?: number });
    // baseline: the memory after clean-up, after each chunk and after the pass released its model (the leak detector's series).
    expect(events.map((e) => e.event).filter((name) => name !== 'baseline')).toEqual(['started', 'runtime', 'pass', 'chunk', 'chunk', 'chunk', 'pass', 'summary']);
    expect(events.filter((e) => e.event === 'baseline').length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)?.rows).toBe(60);
    const chunk = ofType(records(out), 'chunk_done')[0]!;
    expect(existsSync(join(out, chunk.file))).toBe(true);

    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ kind: 'embed', status: 'done', unitsDone: 3, unitsTotal: 3, rowsDone: 60, owner: null, errors: [] });
    const again = await cli(['resume', out, '--json']);
    expect(again.exitCode).toBe(0); // a finished run resumes to its summary, doing nothing
    expect(ofType(records(out), 'session_started')).toHaveLength(1);
  });

  it('counts documents longer than the max length as truncated', async () => {
    const out = join(dir, 'short');
    const input = join(dir, 'long.txt');
    writeFileSync(input, `short one\n${'word '.repeat(200)}\nanother short one\n`);
    const result = await cli(embedArgs(input, out, ['--max-seq-len', '16', '--json']));
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ rows: 3, truncated: 1 });
  });
});
