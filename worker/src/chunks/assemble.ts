/**
 * Builds embeddings.npy (float32, C order, [N, D], input order) and ids.txt
 * from verified chunk files, streaming one chunk at a time.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { HeadroomError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../runs/atomicFile.js';
import { runPaths } from '../runs/manifest.js';
import type { ChunkRecord } from '../runs/records.js';
import { checkChunk } from './chunkCheck.js';
import { npyMatrixHeader, parseNpyMatrix } from './npy.js';

export interface AssembledOutput {
  rows: number;
  dim: number;
  sha256: string;
}

export function assembleOutputs(runDir: string, chunks: ChunkRecord[], ids: string[]): AssembledOutput {
  const paths = runPaths(runDir);
  const rows = chunks.reduce((sum, chunk) => sum + chunk.rows, 0);
  const dim = chunks[0]?.dim ?? 0;
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
    for (const chunk of chunks) {
      const verdict = checkChunk(runDir, chunk);
      if (!verdict.ok) {
        throw new HeadroomError('interrupted', `chunk ${chunk.file} changed before assembly (${verdict.reason}); resume recomputes it`);
      }
      if (chunk.dim !== dim) throw new HeadroomError('internal', `chunk ${chunk.file} has dim ${chunk.dim}, expected ${dim}`);
      const matrix = parseNpyMatrix(verdict.data);
      if (typeof matrix === 'string') throw new HeadroomError('internal', `chunk ${chunk.file}: ${matrix}`);
      write(verdict.data.subarray(matrix.dataOffset));
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
