/** Decides whether a chunk file on disk is the one its journal record describes. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkRecord } from '../runs/records.js';
import { parseNpyMatrix } from './npy.js';

export type ChunkVerdict = { ok: true; data: Buffer } | { ok: false; reason: string };

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
