/** Decides whether a chunk file on disk is the one its journal record describes. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkRecord } from '../runs/records.js';
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
