/**
 * Builds embeddings.npy (float32, C order, [N, D], input order) and ids.txt
 * from verified chunk files, streaming one chunk index at a time; an ensemble's
 * models are joined row by row (see engine/ensemble.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { combineRows, outputDim } from '../engine/ensemble.js';
import { HeadroomError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../runs/atomicFile.js';
import { runPaths, type EmbedSpec } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { checkChunk } from './chunkCheck.js';
import { npyMatrixHeader, parseNpyMatrix } from './npy.js';

export interface AssembledOutput {
  rows: number;
  dim: number;
  sha256: string;
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
      const combined = combineRows(units.map((unit) => chunkValues(runDir, unit)), dims, weights, spec.aggregate, units[0]!.rows);
      write(new Uint8Array(combined.buffer, combined.byteOffset, combined.byteLength));
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  writeFileAtomic(paths.ids, `${ids.join('\n')}\n`);
  renameSync(temporary, paths.embeddings);
  fsyncDir(runDir);
  return { rows, dim, sha256: digest.digest('hex') };
}
