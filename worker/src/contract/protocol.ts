/**
 * The worker protocol: every line that crosses the Engine <-> Python worker
 * boundary. This file is the one definition; the Python runtime validates
 * against `protocol.schema.json`, which `npm run schema` derives from it
 * (and `npm run check:schema` keeps in sync).
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const DeviceRequest = z
  .string()
  .regex(/^(auto|cpu|cuda|cuda:\d+)$/, 'device must be auto, cpu, cuda or cuda:N');
export type DeviceRequest = z.infer<typeof DeviceRequest>;

const Count = z.number().int().nonnegative();
/** A memory figure in bytes; null where the device cannot report it. */
const Bytes = z.number().int().nonnegative().nullable();

export const EncodeSpec = z.object({
  /** Hub name (resolved offline from the local cache or a bundled package) or a local folder. */
  model: z.string().min(1),
  /** Directory-safe name of the model: chunks/<modelKey>/. */
  modelKey: z.string().regex(/^[A-Za-z0-9._-]+$/),
  device: DeviceRequest,
  batchSize: z.number().int().positive(),
  /** Overrides the model's max_seq_length; null keeps the model's own. */
  maxSeqLen: z.number().int().positive().nullable(),
});
export type EncodeSpec = z.infer<typeof EncodeSpec>;

export const ChunkTask = z.object({
  index: Count,
  texts: z.array(z.string()).min(1),
  /** Absolute path of the chunk file the worker writes (atomically). */
  path: z.string().min(1),
});
export type ChunkTask = z.infer<typeof ChunkTask>;

export const EngineToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.literal(PROTOCOL_VERSION) }),
  z.object({ type: z.literal('encode'), spec: EncodeSpec, chunks: z.array(ChunkTask).min(1) }),
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume') }),
  z.object({ type: z.literal('shutdown') }),
]);
export type EngineToWorker = z.infer<typeof EngineToWorker>;

export const GpuDevice = z.object({ index: Count, name: z.string(), total: Bytes });

export const WorkerErrorCode = z.enum([
  'bad_message',
  'model_not_found',
  'bad_model',
  'bad_device',
  'bad_spec',
  'encode_failed',
  'internal',
]);
export type WorkerErrorCode = z.infer<typeof WorkerErrorCode>;

export const WorkerToEngine = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    protocol: z.literal(PROTOCOL_VERSION),
    pid: Count,
    python: z.string(),
    torch: z.string(),
    sentenceTransformers: z.string(),
    cuda: z.boolean(),
    devices: z.array(GpuDevice),
  }),
  z.object({
    type: z.literal('model_loaded'),
    model: z.string(),
    source: z.enum(['folder', 'bundled', 'hub-cache']),
    device: z.string(),
    dim: z.number().int().positive(),
    maxSeqLen: z.number().int().positive(),
    ms: z.number().nonnegative(),
  }),
  z.object({
    type: z.literal('memory'),
    allocated: Bytes,
    reserved: Bytes,
    free: Bytes,
    total: Bytes,
    peak: Bytes,
  }),
  z.object({
    type: z.literal('chunk_done'),
    /** The pass this chunk belongs to: the model key. */
    pass: z.string(),
    index: Count,
    rows: z.number().int().positive(),
    dim: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Documents longer than the model's max length, truncated as sentence-transformers does. */
    truncated: Count,
    ms: z.number().nonnegative(),
  }),
  z.object({ type: z.literal('paused') }),
  z.object({ type: z.literal('resumed') }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['debug', 'info', 'warning', 'error']),
    message: z.string(),
  }),
  z.object({
    type: z.literal('error'),
    code: WorkerErrorCode,
    message: z.string(),
    /** A fatal error ends the work in hand; the worker still answers shutdown. */
    fatal: z.boolean(),
  }),
  z.object({ type: z.literal('done') }),
]);
export type WorkerToEngine = z.infer<typeof WorkerToEngine>;
export type WorkerEvent<T extends WorkerToEngine['type']> = Extract<WorkerToEngine, { type: T }>;
