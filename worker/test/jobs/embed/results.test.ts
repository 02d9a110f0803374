/** The pieces that keep results from being silently wrong, with generated variants (issue 9, class 7). */
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleOutputs, idsText } from '../../../src/jobs/embed/chunks/assemble.js';
import { recordMismatch, sha256 } from '../../../src/jobs/embed/chunks/chunkCheck.js';
import { npyMatrixHeader } from '../../../src/jobs/embed/chunks/npy.js';
import { checkOutputs } from '../../../src/jobs/embed/chunks/outputCheck.js';
import { checkCall } from '../../../src/contract/api.js';
import { weightProblem } from '../../../src/jobs/embed/ensemble.js';
import { checkDescribed } from '../../../src/jobs/embed/modelIdentity.js';
import { chunkFile, ModelEntry, type ModelIdentity } from '../../../src/jobs/embed/manifest.js';
import type { ChunkRecord, JournalRecord } from '../../../src/jobs/embed/records.js';

const tempDir = (): string => {
  const dir = join(tmpdir(), `headroom-results-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

function npy(rows: number, cols: number, values: number[]): Buffer {
  return Buffer.concat([npyMatrixHeader(rows, cols), Buffer.from(new Float32Array(values).buffer)]);
}

/** Writes chunk `index` of `model` into the run folder and returns its journal record. */
function writeChunk(runDir: string, model: string, index: number, rows: number, cols: number, values: number[]): ChunkRecord {
  const file = chunkFile(model, index);
  const data = npy(rows, cols, values);
  mkdirSync(join(runDir, 'chunks', model), { recursive: true });
  writeFileSync(join(runDir, file), data);
  const stats = { batches: 1, ooms: 0, realTokens: 1, paddedTokens: 1, oomTruncated: 0, cpuFallbacks: 0, encodeMs: 1, budget: 1 };
  return { type: 'chunk_done', at: '', model, index, rows, dim: cols, sha256: sha256(data), file, truncated: 0, ms: 1, stats };
}

describe('a journal record is trusted only for the chunk it names', () => {
  const record = (over: Partial<ChunkRecord> = {}): ChunkRecord => ({
    type: 'chunk_done',
    at: '',
    model: 'm',
    index: 3,
    rows: 10,
    dim: 8,
    sha256: '0'.repeat(64),
    file: chunkFile('m', 3),
    truncated: 0,
    ms: 1,
    stats: { batches: 1, ooms: 0, realTokens: 1, paddedTokens: 1, oomTruncated: 0, cpuFallbacks: 0, encodeMs: 1, budget: 1 },
    ...over,
  });
  const expected = { model: 'm', index: 3, rows: 10, dim: 8 };

  it('accepts the record of exactly that unit', () => {
    expect(recordMismatch(record(), expected)).toBeUndefined();
    expect(recordMismatch(record(), { ...expected, dim: undefined })).toBeUndefined();
  });

  it('refuses any record whose file, model, index, rows or dim differ (generated)', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
    const change = fc.oneof(
      fc.record({ file: fc.oneof(fc.string(), fc.tuple(key, fc.nat(999)).map(([m, i]) => chunkFile(m, i))) }),
      fc.record({ model: key }),
      fc.record({ index: fc.nat(10_000) }),
      fc.record({ rows: fc.integer({ min: 1, max: 10_000 }) }),
      fc.record({ dim: fc.integer({ min: 1, max: 4096 }) }),
      // the same file and checksum, filed under another index: a swap
      fc.nat(10_000).map((index) => ({ index, file: chunkFile('m', index) })),
    );
    fc.assert(
      fc.property(change, (over) => {
        const changed = record(over);
        const same = changed.file === record().file && changed.model === 'm' && changed.index === 3 && changed.rows === 10 && changed.dim === 8;
        expect(recordMismatch(changed, expected) === undefined).toBe(same);
      }),
      { numRuns: 500 },
    );
  });
});

describe('weights are finite and bounded everywhere a spec enters', () => {
  const inRange = fc.double({ min: 1e-6, max: 1e6, noNaN: true });
  const outOfRange = fc.oneof(
    fc.double({ min: 1e6, noDefaultInfinity: false, noNaN: true }).filter((w) => w > 1e6),
    fc.double({ max: 1e-6, noNaN: true }).filter((w) => w < 1e-6),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e39, -1),
  );
  const entry = (weight: number) => ({ model: 'm', key: 'm', weight, device: 'cpu' });
  const start = (weight: number) => ({ input: 'x.jsonl', models: [{ model: 'a', weight }, { model: 'b', weight: 1 }] });

  it('accepts 1e-6 to 1e6 in the CLI check, the run spec and the panel', () => {
    fc.assert(
      fc.property(inRange, (weight) => {
        expect(weightProblem(weight)).toBeUndefined();
        expect(ModelEntry.safeParse(entry(weight)).success).toBe(true);
        expect(() => checkCall('startRun', start(weight))).not.toThrow();
      }),
    );
  });

  it('refuses anything else in all three', () => {
    fc.assert(
      fc.property(outOfRange, (weight) => {
        expect(weightProblem(weight)).toMatch(/finite|from/);
        expect(ModelEntry.safeParse(entry(weight)).success).toBe(false);
        expect(() => checkCall('startRun', start(weight))).toThrow(/weight/);
      }),
    );
  });
});

describe('assembly never writes a non-finite value', () => {
  const spec = (weights: number[]) => ({ models: weights.map((weight, i) => ({ model: `m${i}`, key: `m${i}`, weight, device: 'cpu' })), aggregate: 'concat' as const });

  it('stops with an internal error naming the chunk that holds one (generated positions and values)', () => {
    fc.assert(
      fc.property(fc.nat(5), fc.nat(1), fc.integer({ min: 1, max: 2 }), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY), (cell, chunkIndex, models, bad) => {
        const runDir = tempDir();
        try {
          const chunks = [0, 1].map((index) =>
            Array.from({ length: models }, (_, m) => {
              const values = [0.5, -0.25, 1, 2, 0.125, 3];
              if (index === chunkIndex && m === models - 1) values[cell] = bad;
              return writeChunk(runDir, `m${m}`, index, 3, 2, values);
            }),
          );
          const ids = Array.from({ length: 6 }, (_, i) => `id${i}`);
          let message = '';
          try {
            assembleOutputs(runDir, chunks, ids, spec(Array.from({ length: models }, () => 1)));
          } catch (error) {
            message = (error as Error).message;
            expect((error as { kind?: string }).kind).toBe('internal');
          }
          expect(message).toContain(`chunk ${chunkFile(`m${models - 1}`, chunkIndex)} holds a non-finite value`);
          expect(message).toContain(`row ${Math.floor(cell / 2) + 1}`);
        } finally {
          rmSync(runDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps bounded weights finite on the largest float32 values', () => {
    const runDir = tempDir();
    const huge = 3.4e38;
    const chunks = [[writeChunk(runDir, 'm0', 0, 2, 2, [huge, huge, -huge, huge]), writeChunk(runDir, 'm1', 0, 2, 2, [huge, 1, 1, huge])]];
    const output = assembleOutputs(runDir, chunks, ['a', 'b'], spec([1e6, 1e6]));
    const data = readFileSync(join(runDir, 'embeddings.npy'));
    const values = new Float32Array(data.buffer.slice(data.byteOffset + npyMatrixHeader(2, 4).length, data.byteOffset + data.length)); // a small read may sit in a shared pool
    expect(values.every(Number.isFinite)).toBe(true);
    expect(output.ids).toEqual({ sha256: sha256(Buffer.from(idsText(['a', 'b']))), rows: 2 });
    rmSync(runDir, { recursive: true, force: true });
  });
});

describe("a done run's outputs are checked against its journal", () => {
  function doneRun(): { runDir: string; completed: Extract<JournalRecord, { type: 'run_completed' }> } {
    const runDir = tempDir();
    const chunks = [[writeChunk(runDir, 'm', 0, 3, 2, [1, 2, 3, 4, 5, 6])]];
    const output = assembleOutputs(runDir, chunks, ['a', 'b', 'c'], { models: [{ model: 'm', key: 'm', weight: 1, device: 'cpu' }], aggregate: 'concat' });
    return { runDir, completed: { type: 'run_completed', at: '', ...output, truncated: 0, chunksKept: true } };
  }

  it('finds intact outputs intact', () => {
    const { runDir, completed } = doneRun();
    expect(checkOutputs(runDir, completed)).toEqual([]);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('finds every deleted, cut, grown or edited output (generated)', () => {
    const harm = fc.oneof(
      fc.record({ kind: fc.constant('delete' as const) }),
      fc.record({ kind: fc.constant('cut' as const), keep: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
      fc.record({ kind: fc.constant('grow' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 0.999, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom('embeddings.npy' as const, 'ids.txt' as const), harm, (file, damage) => {
        const { runDir, completed } = doneRun();
        const path = join(runDir, file);
        const data = readFileSync(path);
        if (damage.kind === 'delete') rmSync(path);
        if (damage.kind === 'cut') truncateSync(path, Math.floor(data.length * damage.keep));
        if (damage.kind === 'grow') writeFileSync(path, Buffer.concat([data, damage.extra]));
        if (damage.kind === 'flip') {
          data[Math.floor(data.length * damage.at)]! ^= 1 << damage.bit;
          writeFileSync(path, data);
        }
        const problems = checkOutputs(runDir, completed);
        expect(problems.map((problem) => problem.file)).toEqual([file]);
        rmSync(runDir, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });
});

describe('same model, same run', () => {
  const identity: ModelIdentity = { key: 'k', source: 'folder', sha256: 'a'.repeat(64), files: 5, bytes: 100 };
  const entries = [{ model: '/models/tiny', key: 'k', weight: 1, device: 'cpu' as const }];

  it('accepts the files run.json names and refuses any other, with the fix', () => {
    expect(() => checkDescribed([identity], entries, [{ modelKey: 'k', fingerprint: { sha256: 'a'.repeat(64), files: 5, bytes: 100 } }])).not.toThrow();
    expect(() => checkDescribed([identity], entries, [{ modelKey: 'k', fingerprint: { sha256: 'b'.repeat(64), files: 5, bytes: 100 } }])).toThrow(
      /model \/models\/tiny is not the one this run started with: its files changed \(fingerprint aaaaaaaaaaaa, 5 files, 100 bytes when the run was created; now bbbbbbbbbbbb.*Restore the model, or start a new run/,
    );
    expect(() => checkDescribed([identity], entries, [{ modelKey: 'other', fingerprint: identity }])).toThrow(/run.json names no fingerprint for model other/);
  });
});
