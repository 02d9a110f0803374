/** run.json: the spec and the versions that made the run; written once. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DeviceRequest, OomPolicy } from '../contract/protocol.js';
import { HeadroomError } from '../errors.js';
import { writeFileAtomic } from './atomicFile.js';

export const EmbedSpec = z.object({
  model: z.string().min(1),
  modelKey: z.string().regex(/^[A-Za-z0-9._-]+$/),
  device: DeviceRequest,
  chunkSize: z.number().int().positive(),
  /** 'auto': token-budget batches sized from memory; a number: fixed batches. */
  batchSize: z.union([z.literal('auto'), z.number().int().positive()]),
  minBatch: z.number().int().positive(),
  maxBatch: z.number().int().positive(),
  maxBatchTokens: z.number().int().positive().nullable(),
  targetMemory: z.number().gt(0).max(1),
  /** GiB; caps the worker's GPU memory. */
  vramLimitGiB: z.number().positive().nullable(),
  oomPolicy: OomPolicy,
  maxSeqLen: z.number().int().positive().nullable(),
  textField: z.string().min(1),
  idField: z.string().min(1),
  keepChunks: z.boolean(),
});
export type EmbedSpec = z.infer<typeof EmbedSpec>;

export const RunManifest = z.object({
  format: z.literal(1),
  kind: z.literal('embed'),
  createdAt: z.string(),
  input: z.object({
    path: z.string(),
    sha256: z.string(),
    bytes: z.number().int().nonnegative(),
    rows: z.number().int().positive(),
  }),
  spec: EmbedSpec,
  chunks: z.number().int().positive(),
  versions: z.object({ headroom: z.string(), node: z.string() }),
});
export type RunManifest = z.infer<typeof RunManifest>;

export const runPaths = (runDir: string) => ({
  manifest: join(runDir, 'run.json'),
  journal: join(runDir, 'journal.jsonl'),
  lock: join(runDir, 'lock'),
  chunks: join(runDir, 'chunks'),
  embeddings: join(runDir, 'embeddings.npy'),
  ids: join(runDir, 'ids.txt'),
});

export function chunkFile(modelKey: string, index: number): string {
  return join('chunks', modelKey, `chunk-${String(index).padStart(6, '0')}.npy`);
}

export function readManifest(runDir: string): RunManifest {
  const path = runPaths(runDir).manifest;
  if (!existsSync(path)) {
    throw new HeadroomError('usage', `${runDir} is not a Headroom run (no run.json)`);
  }
  const parsed = RunManifest.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new HeadroomError('bad_input', `${path} is not a valid run manifest: ${parsed.error.message}`);
  }
  return parsed.data;
}

export function writeManifest(runDir: string, manifest: RunManifest): void {
  writeFileAtomic(runPaths(runDir).manifest, `${JSON.stringify(manifest, null, 2)}\n`);
}
