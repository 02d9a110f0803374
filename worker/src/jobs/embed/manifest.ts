/** An embed run's run.json: the spec, the models' fingerprints and the versions that made it; written once. */
import { join } from 'node:path';
import { z } from 'zod';
import { Weight, WorkerDevice } from '../../contract/jobs/embed.js';
import { RunName } from '../../contract/runs.js';
import { Aggregate, DeviceRequest, EnsembleMode, ModelFingerprint, ModelSource, OomPolicy } from '../../contract/protocol.js';
import { readKindManifest, runFiles } from '../../runs/manifest.js';

/** One model of an ensemble (a one-model run is an ensemble of one). */
export const ModelEntry = z.object({
  model: z.string().min(1),
  /** Folder-safe and unique within the run: chunks/<key>/. */
  key: z.string().regex(/^[A-Za-z0-9._-]+$/),
  /** Finite and bounded, so a weighted row can never overflow float32. */
  weight: Weight,
  /** Where this model's pass runs: auto picks the least-loaded GPU with room, else the CPU. */
  device: DeviceRequest,
});
export type ModelEntry = z.infer<typeof ModelEntry>;

export const EmbedSpec = z.object({
  models: z.array(ModelEntry).min(1),
  ensembleMode: EnsembleMode,
  aggregate: Aggregate,
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
  /** The VRAM guard (defaults: runs made before it parse with the guard's defaults). */
  vramWarning: z.number().gt(0).max(1).default(0.85),
  vramCritical: z.number().gt(0).max(1).default(0.95),
  onCritical: z.enum(['shrink', 'pause']).default('shrink'),
  maxSeqLen: z.number().int().positive().nullable(),
  textField: z.string().min(1),
  idField: z.string().min(1),
  keepChunks: z.boolean(),
  /** One worker per device (--workers), sharing the units; null (and runs made before workers): one worker. A resume uses the same. */
  workers: z.array(WorkerDevice).min(1).nullable().default(null),
});
export type EmbedSpec = z.infer<typeof EmbedSpec>;

/** Which files a model of the run was, when the run was created (see jobs/embed/modelIdentity.ts). */
export const ModelIdentity = z.object({ key: z.string(), source: ModelSource, ...ModelFingerprint.shape });
export type ModelIdentity = z.infer<typeof ModelIdentity>;

/** The run format this Headroom reads and writes. */
export const RUN_FORMAT = 3;

export const RunManifest = z.object({
  /** 3: model fingerprints; 2: ensembles (models[]); 1: Headroom 0.1 before ensembles. */
  format: z.literal(RUN_FORMAT),
  kind: z.literal('embed'),
  createdAt: z.string(),
  /** The name the user gave the run (runs/manifest.ts RunHeader reads it for every kind). */
  name: RunName.optional(),
  input: z.object({
    path: z.string(),
    sha256: z.string(),
    bytes: z.number().int().nonnegative(),
    rows: z.number().int().positive(),
  }),
  spec: EmbedSpec,
  /** One per spec.models entry, same order: a resume with other files is refused. */
  models: z.array(ModelIdentity).min(1),
  chunks: z.number().int().positive(),
  versions: z.object({ headroom: z.string(), node: z.string() }),
}).refine((manifest) => manifest.models.map((model) => model.key).join('\0') === manifest.spec.models.map((entry) => entry.key).join('\0'), {
  path: ['models'],
  message: 'one fingerprint per model of spec.models, in the same order',
});
export type RunManifest = z.infer<typeof RunManifest>;

export const runPaths = (runDir: string) => ({
  ...runFiles(runDir),
  chunks: join(runDir, 'chunks'),
  embeddings: join(runDir, 'embeddings.npy'),
  ids: join(runDir, 'ids.txt'),
});

export function chunkFile(modelKey: string, index: number): string {
  return join('chunks', modelKey, `chunk-${String(index).padStart(6, '0')}.npy`);
}

export function readManifest(runDir: string): RunManifest {
  return readKindManifest(runDir, RunManifest, RUN_FORMAT);
}

export { writeManifest } from '../../runs/manifest.js';
