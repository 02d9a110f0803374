/**
 * Builds embeddings.npy (float32, C order, [N, D], input order) and ids.txt
 * from verified chunk files, streaming one chunk index at a time; an ensemble's
 * models are joined row by row (see ../ensemble.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { combineRows, outputDim } from '../ensemble.js';
import { HeadroomError } from '../../../errors.js';
import { killPoint } from '../../../faults.js';
import { fsyncDir, writeFileAtomic } from '../../../runs/atomicFile.js';
import { runPaths, type EmbedSpec } from '../manifest.js';
import type { ChunkRecord } from '../records.js';
import { checkChunk, sha256 } from './chunkCheck.js';
import { npyMatrixHeader, parseNpyMatrix } from './npy.js';

export interface AssembledOutput {
  rows: number;
  dim: number;
  sha256: string;
  ids: { sha256: string; rows: number };
}

/** ids.txt's bytes: one id per line, input order. */
export const idsText = (ids: readonly string[]): string => `${ids.join('\n')}\n`;

/** The first non-finite value of a matrix, as [row, column]; undefined when all are finite. */
export function firstNonFinite(values: Float32Array, width: number): [number, number] | undefined {
  for (let i = 0; i < values.length; i += 1) {
    if (!Number.isFinite(values[i]!)) return [Math.floor(i / width), i % width];
  }
  return undefined;
}

/** A non-finite value never reaches the output: it is an internal error naming where it came from. */
function checkFinite(units: readonly ChunkRecord[], parts: readonly Float32Array[], combined: Float32Array, dims: readonly number[], width: number): void {
  const at = firstNonFinite(combined, width);
  if (at === undefined) return;
  const source = units.findIndex((_, m) => firstNonFinite(parts[m]!, dims[m]!) !== undefined);
  const where = source >= 0 ? `chunk ${units[source]!.file} holds a non-finite value` : `joining chunk ${units[0]!.index} of ${units.map((unit) => unit.file).join(', ')} gave a non-finite value`;
  throw new HeadroomError('internal', `${where} (output row ${at[0] + 1} of the chunk, column ${at[1] + 1}); the output was not written`);
}

/** Reads a verified chunk's float32 values (little-endian, as numpy writes them here). */
function chunkValues(runDir: string, chunk: ChunkRecord): Float32Array {
  const verdict = checkChunk(runDir, chunk);
  if (!verdict.ok) {
    throw new HeadroomError('interrupted', `chunk ${chunk.file} changed before assembly (${verdict.reason}); resume recomputes it`);
  }
  const matrix = parseNpyMatrix(verdict.data);
  if (typeof matrix === 'string') throw new HeadroomError('internal', `chunk ${chunk.file}: ${matrix}`);
  if (matrix.rows !== chunk.rows || matrix.cols !== chunk.dim) {
    throw new HeadroomError('internal', `chunk ${chunk.file} is ${matrix.rows} x ${matrix.cols}, journaled as ${chunk.rows} x ${chunk.dim}`);
  }
  const data = verdict.data.subarray(matrix.dataOffset);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

/** An output's place must hold a regular file or nothing: a folder there would fail the rename after the other output was replaced. */
export function refuseNonFileOutputs(runDir: string, outputs: string[]): void {
  for (const path of outputs) {
    let isFile = true;
    try {
      isFile = lstatSync(path).isFile();
    } catch {
      /* absent: written fresh */
    }
    if (!isFile) throw new HeadroomError('bad_input', `${path} is not a regular file (a folder or link stands where the run writes its output): move it away, then \`headroom resume ${runDir}\``);
  }
}

/** `chunks[i][m]`: chunk i of model m, in the spec's model order. */
export function assembleOutputs(runDir: string, chunks: ChunkRecord[][], ids: string[], spec: Pick<EmbedSpec, 'models' | 'aggregate'>): AssembledOutput {
  const paths = runPaths(runDir);
  const rows = chunks.reduce((sum, units) => sum + units[0]!.rows, 0);
  const dims = chunks[0]!.map((unit) => unit.dim);
  const weights = spec.models.map((entry) => entry.weight);
  const dim = outputDim(spec.aggregate, dims);
  if (rows !== ids.length) {
    throw new HeadroomError('internal', `chunks hold ${rows} rows but the input has ${ids.length}`);
  }
  refuseNonFileOutputs(runDir, [paths.embeddings, paths.ids]);
  const temporary = `${paths.embeddings}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  const digest = createHash('sha256');
  try {
    const write = (data: Uint8Array): void => {
      writeFileSync(fd, data);
      digest.update(data);
    };
    write(npyMatrixHeader(rows, dim));
    for (const units of chunks) {
      for (const [m, unit] of units.entries()) {
        if (unit.dim !== dims[m] || unit.rows !== units[0]!.rows) {
          throw new HeadroomError('internal', `chunk ${unit.file} is ${unit.rows} x ${unit.dim}, expected ${units[0]!.rows} x ${dims[m]}`);
        }
      }
      const parts = units.map((unit) => chunkValues(runDir, unit));
      const combined = combineRows(parts, dims, weights, spec.aggregate, units[0]!.rows);
      checkFinite(units, parts, combined, dims, dim);
      write(new Uint8Array(combined.buffer, combined.byteOffset, combined.byteLength));
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  killPoint('assembly');
  const text = idsText(ids);
  writeFileAtomic(paths.ids, text);
  renameSync(temporary, paths.embeddings);
  fsyncDir(runDir);
  return { rows, dim, sha256: digest.digest('hex'), ids: { sha256: sha256(Buffer.from(text, 'utf8')), rows: ids.length } };
}
