/**
 * The runtime protocol: every line that crosses the Engine <-> Python runtime
 * boundary. This file is the one definition; the Python runtime validates
 * against `protocol.schema.json`, which `npm run schema` derives from it
 * (and `npm run check:schema` keeps in sync).
 */
import { z } from 'zod';
import { TrialsCommands, TrialsEvents } from './trialsProtocol.js';

/** 2: the OOM policy travels only in set_policy (no longer in each encode's batching). 3: the trials job's lines (trialsProtocol.ts). */
export const PROTOCOL_VERSION = 3;

/** The device words a request may use; `cuda:N` names one GPU. */
export const DeviceKeyword = z.enum(['auto', 'cpu', 'cuda']);
export const DeviceRequest = z
  .string()
  .regex(new RegExp(`^(${DeviceKeyword.options.join('|')}|cuda:\\d+)$`), `device must be ${DeviceKeyword.options.join(', ')} or cuda:N`);
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
  /** Overrides the model's max_seq_length; null keeps the model's own. */
  maxSeqLen: z.number().int().positive().nullable(),
  /** Caps the worker's GPU memory (torch's per-process fraction), in bytes; null: no cap. */
  vramLimit: z.number().int().positive().nullable(),
});
export type EncodeSpec = z.infer<typeof EncodeSpec>;

export const OomPolicy = z.enum(['fail', 'cpu', 'truncate']);
export type OomPolicy = z.infer<typeof OomPolicy>;

/** simultaneous: every model resident, chunk i for all of them at once; sequential: one model per pass. */
export const EnsembleMode = z.enum(['simultaneous', 'sequential']);
export type EnsembleMode = z.infer<typeof EnsembleMode>;

/** How an ensemble's L2-normalised, weighted embeddings combine. */
export const Aggregate = z.enum(['concat', 'mean']);
export type Aggregate = z.infer<typeof Aggregate>;

export const Batching = z.object({
  /** auto: token-budget batches; fixed: batchSize documents (until memory says otherwise). */
  mode: z.enum(['auto', 'fixed']),
  batchSize: z.number().int().positive(),
  minBatch: z.number().int().positive(),
  maxBatch: z.number().int().positive(),
  /** Pins the budget (padded tokens per batch) by hand; null lets memory decide. */
  maxBatchTokens: z.number().int().positive().nullable(),
  /** Fraction of the device (or of the cap) the peak may reach. */
  targetMemory: z.number().gt(0).max(1),
  /** Budget learned on an earlier run; null makes the runtime probe. */
  initialBudget: z.number().int().positive().nullable(),
  /** The VRAM guard (embed/guard.py): fractions of the device (or of the cap) where memory used is a warning, and critical. */
  vramWarning: z.number().gt(0).max(1),
  vramCritical: z.number().gt(0).max(1),
  /** At the critical level: shrink the token budget and release cached memory, or pause the run. */
  onCritical: z.enum(['shrink', 'pause']),
});
export type Batching = z.infer<typeof Batching>;

export const ChunkTask = z.object({
  index: Count,
  texts: z.array(z.string()).min(1),
  /** Absolute path of the chunk file the runtime writes (atomically). */
  path: z.string().min(1),
});
export type ChunkTask = z.infer<typeof ChunkTask>;

export const EngineToRuntime = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.literal(PROTOCOL_VERSION) }),
  /** Resolve each model and read its dimension from its files, loading no weights (checks a spec before work). */
  z.object({ type: z.literal('describe'), specs: z.array(EncodeSpec).min(1) }),
  /** Open a pass: load the model unless it is resident already. */
  z.object({ type: z.literal('pass_start'), spec: EncodeSpec }),
  /** Close a pass; `release` drops the model and empties the device cache (sequential mode). */
  z.object({ type: z.literal('pass_end'), modelKey: EncodeSpec.shape.modelKey, release: z.boolean() }),
  z.object({ type: z.literal('encode'), spec: EncodeSpec, batching: Batching, chunks: z.array(ChunkTask).min(1) }),
  /** The OOM policy's one channel: sent once the runtime is ready, and again on every change; acts on the next batch. */
  z.object({ type: z.literal('set_policy'), oomPolicy: OomPolicy }),
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume') }),
  z.object({ type: z.literal('shutdown') }),
  ...TrialsCommands,
]);
export type EngineToRuntime = z.infer<typeof EngineToRuntime>;

export const ModelSource = z.enum(['folder', 'bundled', 'hub-cache']);
/** How a first token budget was found: measured on the device, a CPU default, or pinned by --max-batch-tokens. */
export const ProbeMethod = z.enum(['measured', 'cpu-default', 'pinned']);
/** What failed: the allocator's out-of-memory, or its assertion (treated alike). */
export const OomKind = z.enum(['oom', 'allocator_assert']);
/** What the runtime did about one: retry smaller, fail, CPU, truncate, or ask for a fresh runtime. */
export const OomAction = z.enum(['retry', 'fail', 'cpu', 'truncate', 'recycle']);
/** A sha256 over the relative paths, sizes and contents of a model's weight, config and tokenizer files. */
export const ModelFingerprint = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type ModelFingerprint = z.infer<typeof ModelFingerprint>;

export const GpuDevice = z.object({ index: Count, name: z.string(), total: Bytes });

export const ChunkStats = z.object({
  batches: Count,
  ooms: Count,
  realTokens: Count,
  paddedTokens: Count,
  /** Documents that did not fit in memory alone, cut further by the `truncate` OOM policy ... */
  oomTruncated: Count,
  /** ... or encoded on the CPU by the `cpu` policy. */
  cpuFallbacks: Count,
  encodeMs: z.number().nonnegative(),
  /** The token budget when the chunk ended; after an OOM, the largest batch that worked. */
  budget: z.number().int().positive(),
});
export type ChunkStats = z.infer<typeof ChunkStats>;

export const RuntimeErrorCode = z.enum([
  'bad_message',
  'model_not_found',
  'bad_model',
  'bad_device',
  'bad_spec',
  'encode_failed',
  'document_too_large',
  'recycle',
  /** Trials: the data, target or space is unusable (the message names the file, column or key). */
  'bad_input',
  /** Trials: training failed (not for lack of memory). */
  'train_failed',
  'internal',
]);
export type RuntimeErrorCode = z.infer<typeof RuntimeErrorCode>;

export const RuntimeToEngine = z.discriminatedUnion('type', [
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
    type: z.literal('described'),
    models: z.array(
      z.object({
        modelKey: z.string(),
        source: ModelSource,
        /** Embedding dimension read from the model's files; null when they do not say (known at load). */
        dim: z.number().int().positive().nullable(),
        /** Bytes of weight files: what the model needs resident. */
        weightBytes: Bytes,
        /** The model's identity (see headroom_runtime/embed/fingerprint.py), checked against run.json. */
        fingerprint: ModelFingerprint,
      }),
    ),
  }),
  z.object({
    type: z.literal('pass_started'),
    /** The pass: the model key. */
    model: z.string(),
    name: z.string(),
    source: ModelSource,
    device: z.string(),
    /** GPU name, or "cpu": part of the key a learned budget is kept under. */
    deviceName: z.string(),
    dtype: z.string(),
    dim: z.number().int().positive(),
    maxSeqLen: z.number().int().positive(),
    /** Bytes the runtime may use on its device (the cap when one is set); null on CPU. */
    capacity: Bytes,
    free: Bytes,
    /** False when the model was resident already (shared with the pass before). */
    loaded: z.boolean(),
    /** Load time; 0 when nothing was loaded. */
    ms: z.number().nonnegative(),
    /** Bytes of parameters and buffers of every model resident now. */
    resident: Count,
  }),
  z.object({
    type: z.literal('pass_completed'),
    model: z.string(),
    device: z.string(),
    ms: z.number().nonnegative(),
    rows: Count,
    /** GPU: max_memory_allocated over the pass's batches; null on CPU. */
    peak: Bytes,
    /** Most bytes of model parameters and buffers resident at once during the pass (any device). */
    residentPeak: Count,
    released: z.boolean(),
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
    type: z.literal('probe'),
    method: ProbeMethod,
    tokens: Count,
    peak: Bytes,
    budget: z.number().int().positive(),
    ms: z.number().nonnegative(),
  }),
  z.object({
    type: z.literal('batch'),
    docs: z.number().int().positive(),
    /** Real tokens, and padded tokens (docs x the longest one). */
    tokens: Count,
    padded: Count,
    ms: z.number().nonnegative(),
    peak: Bytes,
  }),
  z.object({
    type: z.literal('oom'),
    kind: OomKind,
    docs: z.number().int().positive(),
    tokens: Count,
    /** The budget after the OOM. */
    budget: z.number().int().positive(),
    action: OomAction,
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
    stats: ChunkStats,
  }),
  z.object({ type: z.literal('policy_set'), oomPolicy: OomPolicy }),
  /**
   * The VRAM guard: memory used (CUDA: reserved, what the allocator holds; CPU: RSS) crossed a level, once per crossing.
   * action: warn (warning level), shrink (budget halved to `budget`, cached memory released) or pause (the runtime paused itself).
   */
  z.object({
    type: z.literal('vram_level'),
    level: z.enum(['warning', 'critical']),
    used: Count,
    total: z.number().int().positive(),
    action: z.enum(['warn', 'shrink', 'pause']),
    /** The token budget after a shrink; null otherwise. */
    budget: z.number().int().positive().nullable(),
  }),
  /** Memory after clean-up between units (CUDA: allocated after gc; CPU: RSS after gc): the leak detector's series (jobs/embed/leakDetector.ts). */
  z.object({ type: z.literal('baseline'), bytes: Count, model: z.string(), chunk: Count.nullable() }),
  /** Every second from a thread of its own, idle or busy: silence means a hung runtime (supervisor/runtimeProcess.ts). */
  z.object({ type: z.literal('heartbeat') }),
  z.object({ type: z.literal('paused') }),
  z.object({ type: z.literal('resumed') }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['debug', 'info', 'warning', 'error']),
    message: z.string(),
  }),
  z.object({
    type: z.literal('error'),
    code: RuntimeErrorCode,
    message: z.string(),
    /** A fatal error ends the work in hand; the runtime still answers shutdown. */
    fatal: z.boolean(),
    /** For document_too_large: which document (chunk index, row within the chunk). */
    document: z.object({ chunk: Count, row: Count, tokens: Count }).nullable(),
  }),
  z.object({ type: z.literal('done') }),
  ...TrialsEvents,
]);
export type RuntimeToEngine = z.infer<typeof RuntimeToEngine>;
export type RuntimeEvent<T extends RuntimeToEngine['type']> = Extract<RuntimeToEngine, { type: T }>;
