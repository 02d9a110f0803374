/** Decides whether a chunk file on disk is the one its journal record describes. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { chunkFile } from '../manifest.js';
import type { ChunkRecord } from '../records.js';
import { parseNpyMatrix } from './npy.js';

export type ChunkVerdict = { ok: true; data: Buffer } | { ok: false; reason: string };

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams a file of any size through sha256; undefined when it cannot be read. */
export function fileSha256(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const hash = createHash('sha256');
    const block = Buffer.alloc(1 << 22);
    for (let n = readSync(fd, block); n > 0; n = readSync(fd, block)) hash.update(block.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** What a planned unit must be: its record is trusted only when it names exactly this. */
export interface ExpectedUnit {
  model: string;
  index: number;
  rows: number;
  /** The model's dimension from the journal's pass_started records; undefined when none says. */
  dim: number | undefined;
}

/** Why a journal record does not describe the unit it is filed under (undefined when it does). */
export function recordMismatch(record: ChunkRecord, expected: ExpectedUnit): string | undefined {
  const file = chunkFile(expected.model, expected.index);
  if (record.model !== expected.model || record.index !== expected.index) return `record names ${record.model} chunk ${record.index}`;
  if (record.file !== file) return `record names file ${record.file}, expected ${file}`;
  if (record.rows !== expected.rows) return `record has ${record.rows} rows, the plan ${expected.rows}`;
  if (expected.dim !== undefined && record.dim !== expected.dim) return `record has dim ${record.dim}, the model ${expected.dim}`;
  return undefined;
}

export function checkChunk(runDir: string, record: ChunkRecord): ChunkVerdict {
  let data: Buffer;
  try {
    data = readFileSync(join(runDir, record.file));
  } catch {
    return { ok: false, reason: 'file missing' };
  }
  if (sha256(data) !== record.sha256) return { ok: false, reason: 'checksum mismatch' };
  const matrix = parseNpyMatrix(data);
  if (typeof matrix === 'string') return { ok: false, reason: matrix };
  if (matrix.rows !== record.rows || matrix.cols !== record.dim) {
    return { ok: false, reason: `shape ${matrix.rows}x${matrix.cols}, journal says ${record.rows}x${record.dim}` };
  }
  return { ok: true, data };
}
