/**
 * Results are never silently wrong (issue 9, class 7; DESIGN invariant 9): a resume
 * with other model files is refused; a done run's outputs are checked against the
 * journal; a journal record is trusted only for the chunk it names; weights are
 * bounded; injected faults teach the per-user budget cache nothing.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/jobs/embed/records.js';
import { cli, embedArgs, makeCorpus, maxAbsDiff, ofType, readMatrix, records, tempDir, tinyModel } from '../helpers.js';

const CHUNKS = ['--chunk-size', '10'];
const KILL_AFTER_RENAME = 'HEADROOM_FAULT_KILL_AFTER_RENAME';
/** Three runs with a worker each: bounded, with room for a loaded machine. */
const LONG = 360_000;

/** Another model under the same name: one float of the weights changes (a fine-tune, an updated cache). */
function alterWeights(folder: string): Buffer {
  const path = join(folder, 'model.safetensors');
  const original = readFileSync(path);
  const altered = Buffer.from(original);
  altered[altered.length - 4]! ^= 0x01; // lowest mantissa bit of the last float
  writeFileSync(path, altered);
  return original;
}

const journalLines = (run: string): JournalRecord[] =>
  readFileSync(join(run, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JournalRecord);

const writeJournal = (run: string, list: JournalRecord[]): void => writeFileSync(join(run, 'journal.jsonl'), `${list.map((r) => JSON.stringify(r)).join('\n')}\n`);

const lastSession = (run: string) => ofType(records(run), 'session_started').at(-1)!;

async function statusOf(run: string): Promise<{ status: string; errors: string[] }> {
  const result = await cli(['status', run, '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { status: string; errors: string[] };
}

describe('results are never silently wrong', () => {
  let dir: string;
  let corpus: string;
  /** An uninterrupted run with its chunks kept. */
  let reference: string;
  let embeddings: Buffer;
  let ids: Buffer;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 30);
    reference = join(dir, 'reference');
    const result = await cli(embedArgs(corpus, reference, [...CHUNKS, '--keep-chunks']));
    expect(result.exitCode, result.stderr).toBe(0);
    embeddings = readFileSync(join(reference, 'embeddings.npy'));
    ids = readFileSync(join(reference, 'ids.txt'));
  });

  it('refuses a resume whose model files changed, finishes once they are restored, and faults teach no budget', async () => {
    const model = join(dir, 'model-copy');
    cpSync(tinyModel(), model, { recursive: true });
    const out = join(dir, 'swapped');
    const cache = join(dir, 'cache-faults');
    const auto = [...CHUNKS, '--batch-size', 'auto'];
    const killed = await cli(embedArgs(corpus, out, auto, model), { [KILL_AFTER_RENAME]: '1', HEADROOM_CACHE_DIR: cache });
    expect(killed.exitCode, killed.stderr).toBe(3);
    expect(ofType(records(out), 'chunk_done').length).toBeGreaterThan(0);
    expect(existsSync(join(cache, 'budgets.json'))).toBe(false); // a run under injected faults learned nothing

    const manifest = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { format: number; models: { key: string; source: string; sha256: string; files: number }[] };
    expect(manifest.format).toBe(3);
    expect(manifest.models).toHaveLength(1);
    expect(manifest.models[0]).toMatchObject({ source: 'folder', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.models[0]!.files).toBeGreaterThanOrEqual(4);
    expect(ofType(records(out), 'pass_started')[0]!.budgetKey).toContain(manifest.models[0]!.sha256.slice(0, 16)); // other files, other learned budget

    const original = alterWeights(model);
    const chunksBefore = ofType(records(out), 'chunk_done').length;
    const refused = await cli(['resume', out], { HEADROOM_CACHE_DIR: cache });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/model .*model-copy is not the one this run started with: its files changed .*Restore the model, or start a new run/);
    expect(ofType(records(out), 'chunk_done')).toHaveLength(chunksBefore); // nothing was computed with the other weights
    expect((await statusOf(out)).status).toBe('failed');

    writeFileSync(join(model, 'model.safetensors'), original);
    const resumed = await cli(['resume', out], { HEADROOM_CACHE_DIR: cache });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    // auto batches are another batch plan than the reference's fixed 4: equal to float rounding
    expect(maxAbsDiff(readMatrix(join(out, 'embeddings.npy')), readMatrix(join(reference, 'embeddings.npy')))).toBeLessThan(1e-5);
    expect(existsSync(join(cache, 'budgets.json'))).toBe(true); // the real session did learn
  }, LONG);

  it('refuses a resume after the hub cache moved to other files for the same name', async () => {
    const hub = join(dir, 'hub');
    const repo = join(hub, 'models--headroom-test--tiny');
    const snapshot = (rev: string): string => {
      const folder = join(repo, 'snapshots', rev);
      cpSync(tinyModel(), folder, { recursive: true });
      mkdirSync(join(repo, 'refs'), { recursive: true });
      writeFileSync(join(repo, 'refs', 'main'), rev);
      return folder;
    };
    snapshot('1111111111111111111111111111111111111111');
    const env = { HF_HUB_CACHE: hub, HF_HOME: join(dir, 'hf-home') };
    const out = join(dir, 'hub-run');
    const killed = await cli(embedArgs(corpus, out, CHUNKS, 'headroom-test/tiny'), { ...env, [KILL_AFTER_RENAME]: '1' });
    expect(killed.exitCode, killed.stderr).toBe(3);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ models: [{ source: 'hub-cache' }] });

    alterWeights(snapshot('2222222222222222222222222222222222222222')); // `huggingface-cli download` of a new revision
    const refused = await cli(['resume', out], env);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/model headroom-test\/tiny is not the one this run started with.*Restore the model, or start a new run/);
  });

  it('a done run whose ids.txt or embeddings.npy was deleted, cut or edited is not done; resume rebuilds it', async () => {
    const out = join(dir, 'damaged');
    cpSync(reference, out, { recursive: true });
    rmSync(join(out, 'chunks'), { recursive: true }); // as a run without --keep-chunks leaves it
    const idsPath = join(out, 'ids.txt');
    const damage: [string, () => void, RegExp][] = [
      ['ids.txt deleted', () => rmSync(idsPath), /ids\.txt: missing/],
      ['ids.txt cut by a line', () => writeFileSync(idsPath, ids.subarray(0, ids.lastIndexOf(0x0a, ids.length - 2) + 1)), /ids\.txt: 29 lines, the journal says 30/],
      ['one id edited', () => writeFileSync(idsPath, Buffer.from(ids.toString('utf8').replace('doc-7\n', 'doc-8\n'))), /ids\.txt: its content differs/],
      ['ids.txt emptied', () => writeFileSync(idsPath, ''), /ids\.txt: 0 lines/],
    ];
    for (const [what, harm, reason] of damage) {
      harm();
      const status = await statusOf(out);
      expect(status.status, what).toBe('interrupted');
      expect(status.errors.join('\n'), what).toMatch(reason);
      const resumed = await cli(['resume', out]);
      expect(resumed.exitCode, `${what}: ${resumed.stderr}`).toBe(0);
      expect(readFileSync(idsPath).equals(ids), what).toBe(true);
      expect(lastSession(out), what).toMatchObject({ pending: 0, outputs: [{ file: 'ids.txt' }] }); // rewritten from the input, nothing recomputed
    }
    expect((await statusOf(out)).status).toBe('done');

    const npy = join(out, 'embeddings.npy');
    truncateSync(npy, embeddings.length - 100);
    const status = await statusOf(out);
    expect(status.status).toBe('interrupted');
    expect(status.errors.join('\n')).toMatch(/embeddings\.npy: \d+ bytes, the journal says \d+/);
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(lastSession(out).recomputing.map((r) => r.reason)).toEqual(['file missing', 'file missing', 'file missing']);
    expect(readFileSync(npy).equals(embeddings)).toBe(true);
    expect(readFileSync(idsPath).equals(ids)).toBe(true);
  }, LONG);

  it('trusts a journal record only for the chunk it names: swapped records are recomputed, byte-identical', async () => {
    const out = join(dir, 'swapped-journal');
    cpSync(reference, out, { recursive: true });
    const list = journalLines(out);
    const done = list.filter((record): record is Extract<JournalRecord, { type: 'chunk_done' }> => record.type === 'chunk_done');
    const [first, last] = [done[0]!, done[2]!];
    // each record still matches the file it names, but names the other chunk's file
    [first.file, last.file, first.sha256, last.sha256] = [last.file, first.file, last.sha256, first.sha256];
    done[1]!.rows = 9; // a record that does not match the plan's chunk
    // records that name no unit of the plan are never used
    const ghost = { ...done[1]!, rows: 10, model: 'ghost' };
    const past = { ...done[1]!, rows: 10, index: 99 };
    writeJournal(out, [...list, ghost, past]);
    rmSync(join(out, 'embeddings.npy'));
    expect((await statusOf(out)).status).toBe('interrupted');

    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const session = lastSession(out);
    expect(session.recomputing.map((r) => r.index)).toEqual([0, 1, 2]);
    expect([0, 2].every((i) => /journal record not trusted: record names file chunks\/.*chunk-00000[02]\.npy, expected/.test(session.recomputing[i]!.reason))).toBe(true);
    expect(session.recomputing[1]!.reason).toBe('journal record not trusted: record has 9 rows, the plan 10');
    expect(session.ignored).toEqual([
      { model: 'ghost', index: 1, reason: 'model not in the spec' },
      { model: done[1]!.model, index: 99, reason: 'index outside the plan (3 chunks)' },
    ]);
    expect(readFileSync(join(out, 'embeddings.npy')).equals(embeddings)).toBe(true);

    // An edited matrix of the same size is found by its checksum and reassembled from the kept chunks.
    const npy = join(out, 'embeddings.npy');
    const edited = readFileSync(npy);
    edited[edited.length - 1]! ^= 0x40;
    writeFileSync(npy, edited);
    expect((await statusOf(out)).errors.join('\n')).toMatch(/embeddings\.npy: its content differs from the journal/);
    const reassembled = await cli(['resume', out]);
    expect(reassembled.exitCode, reassembled.stderr).toBe(0);
    expect(lastSession(out)).toMatchObject({ pending: 0, recomputing: [], outputs: [{ file: 'embeddings.npy' }] });
    expect(readFileSync(npy).equals(embeddings)).toBe(true);
  });

  it('refuses weights that are not finite or out of bounds, before anything is created', async () => {
    for (const weights of ['1e39,1', '1e7,1', '1,0', '-1,1', 'NaN,1', 'Infinity,1', '1e-7,1', '1,', '0x10,abc']) {
      const out = join(dir, `weights-${weights.replace(/[^A-Za-z0-9]/g, '_')}`);
      const result = await cli(embedArgs(corpus, out, ['--weights', weights, '--model', tinyModel()]));
      expect(result.exitCode, `${weights}: ${result.stderr}`).toBe(2);
      expect(result.stderr, weights).toMatch(/--weights.*weight [12] .*(finite|from 0\.000001 to 1000000|empty)/);
      expect(existsSync(out), weights).toBe(false);
    }
    const bounds = join(dir, 'weights-bounds');
    const ok = await cli(embedArgs(corpus, bounds, ['--weights', '1000000,0.000001', '--model', tinyModel(), '--chunk-size', '30']));
    expect(ok.exitCode, ok.stderr).toBe(0);
    const { values } = readMatrix(join(bounds, 'embeddings.npy'));
    expect(values.every(Number.isFinite)).toBe(true);
  });
});
