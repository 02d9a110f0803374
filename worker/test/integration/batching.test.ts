/**
 * Dynamic batching and OOM recovery through the real CLI and workers, with OOMs
 * forced on CPU by the documented switch HEADROOM_FAULT_OOM_TOKENS.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { cli, embedArgs, makeCorpus, maxAbsDiff, ofType, readMatrix, records, tempDir } from '../helpers.js';

const AUTO = ['--batch-size', 'auto', '--chunk-size', '30'];
const OOM = 'HEADROOM_FAULT_OOM_TOKENS';

describe('dynamic batching and OOM recovery', () => {
  let dir: string;
  let corpus: string;
  let cache: string;
  let reference: string;

  beforeAll(async () => {
    dir = tempDir();
    cache = join(dir, 'cache');
    corpus = makeCorpus(dir, 120);
    reference = join(dir, 'reference');
    const result = await cli(embedArgs(corpus, reference, AUTO), { HEADROOM_CACHE_DIR: join(dir, 'cache-ref') });
    expect(result.exitCode, result.stderr).toBe(0);
  });

  const matrix = (out: string) => readMatrix(join(out, 'embeddings.npy'));

  it('recovers from OOMs on the longest batches with every document and the same matrix', async () => {
    const out = join(dir, 'ooms');
    const result = await cli(embedArgs(corpus, out, [...AUTO, '--json']), { [OOM]: '200', HEADROOM_CACHE_DIR: join(dir, 'c1') });
    expect(result.exitCode, result.stderr).toBe(0);
    const ooms = ofType(records(out), 'oom');
    expect(ooms.length).toBeGreaterThan(0);
    expect(ooms.every((o) => o.action === 'retry' && o.tokens > 200)).toBe(true);
    expect(ooms[0]!.budget).toBeLessThan(ofType(records(out), 'probe')[0]!.budget);
    const chunks = ofType(records(out), 'chunk_done');
    expect(chunks.every((c) => c.stats.budget <= 200)).toBe(true);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    expect(summary).toMatchObject({ rows: 120, ooms: ooms.length });
    expect(summary.paddingEfficiency).toBeGreaterThan(0.7);
    expect(maxAbsDiff(matrix(out), matrix(reference))).toBeLessThan(1e-5);
  });

  it('stops with a message naming a document that cannot fit alone, and resumes under another policy', async () => {
    const input = join(dir, 'one-long.jsonl');
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `short-${i}`, text: 'a short chunk of text' }));
    lines[33] = JSON.stringify({ id: 'the-long-one', text: 'chunk of text '.repeat(30) });
    writeFileSync(input, `${lines.join('\n')}\n`);
    const clean = join(dir, 'long-clean');
    expect((await cli(embedArgs(input, clean, AUTO))).exitCode).toBe(0);

    const out = join(dir, 'long');
    const failed = await cli(embedArgs(input, out, AUTO), { [OOM]: '40' });
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toMatch(/document "the-long-one" \(input row 34, 64 tokens\) does not fit in memory alone/);
    expect(ofType(records(out), 'chunk_done').map((c) => c.index)).toEqual([0]); // kept, not redone
    expect(JSON.parse((await cli(['status', out, '--json'])).stdout)).toMatchObject({ status: 'failed' });

    const resumed = await cli(['resume', out, '--oom-policy', 'cpu'], { [OOM]: '40' });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(ofType(records(out), 'policy_changed').map((p) => p.oomPolicy)).toEqual(['cpu']);
    expect(ofType(records(out), 'chunk_done').at(-1)!.stats.cpuFallbacks).toBe(1);
    expect(ofType(records(out), 'chunk_done').filter((c) => c.index === 0)).toHaveLength(1);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBeLessThan(1e-5);
  });

  it('resumes a killed dynamic-batch run to the uninterrupted result (1e-5)', async () => {
    const out = join(dir, 'killed');
    const env = { [OOM]: '300', HEADROOM_CACHE_DIR: join(dir, 'c2') };
    const killed = await cli(embedArgs(corpus, out, AUTO), { ...env, HEADROOM_FAULT_KILL_AFTER_RENAME: '2' });
    expect(killed.exitCode).toBe(3);
    const resumed = await cli(['resume', out], env);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const loads = ofType(records(out), 'pass_started');
    expect(loads.map((l) => l.budgetSource)).toEqual(['probe', 'run']); // the resume starts at the recorded budget
    expect(loads[1]!.initialBudget).toBeLessThanOrEqual(300);
    expect(maxAbsDiff(matrix(out), matrix(reference))).toBeLessThan(1e-5);
  });

  it('reuses the learned budget on the next run of the same model, and only that model', async () => {
    // No injected faults: a run under them never teaches the cache (see results.test.ts).
    const env = { HEADROOM_CACHE_DIR: cache };
    const first = join(dir, 'learn-1');
    expect((await cli(embedArgs(corpus, first, AUTO), env)).exitCode).toBe(0);
    expect(ofType(records(first), 'probe')).toHaveLength(1);
    const learned = ofType(records(first), 'chunk_done').at(-1)!.stats.budget;

    const second = join(dir, 'learn-2');
    expect((await cli(embedArgs(corpus, second, AUTO), env)).exitCode).toBe(0);
    expect(ofType(records(second), 'probe')).toHaveLength(0); // no probe the second time
    expect(ofType(records(second), 'pass_started')[0]).toMatchObject({ budgetSource: 'cache', initialBudget: learned });

    const other = join(dir, 'learn-other');
    expect((await cli(embedArgs(corpus, other, AUTO, inject('otherTinyModel')), env)).exitCode).toBe(0);
    expect(ofType(records(other), 'pass_started')[0]).toMatchObject({ budgetSource: 'probe' });
  });

  it('starts a fresh worker after an allocator assert and finishes with the same matrix', async () => {
    const input = join(dir, 'even.jsonl');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `e${i}`, text: `${'chunk of text '.repeat(12)}${i}` }));
    writeFileSync(input, `${lines.join('\n')}\n`);
    const clean = join(dir, 'even-clean');
    expect((await cli(embedArgs(input, clean, ['--batch-size', 'auto', '--chunk-size', '50']))).exitCode).toBe(0);
    const out = join(dir, 'recycled');
    const result = await cli(embedArgs(input, out, ['--batch-size', 'auto', '--chunk-size', '50']), {
      [OOM]: '1200',
      HEADROOM_FAULT_OOM_KIND: 'allocator_assert',
      HEADROOM_CACHE_DIR: join(dir, 'c3'),
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(ofType(records(out), 'oom')[0]).toMatchObject({ kind: 'allocator_assert', action: 'recycle' });
    expect(ofType(records(out), 'worker_recycled')).toHaveLength(1);
    expect(ofType(records(out), 'worker_ready')).toHaveLength(2);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBeLessThan(1e-5);
  });
});
