/**
 * The embedding job's half of the contract: the request that starts a run (with
 * every default, the one definition the CLI, the panel's form, the demo and the
 * tests parse), the events a run reports, and what the panel shows of it.
 */
import { z } from 'zod';
import { CommonEvent, RunInfoBase } from '../runs.js';
import { Aggregate, DeviceRequest, EnsembleMode, OomAction, OomPolicy } from '../protocol.js';

export const EMBED_KIND = 'embed';

/** Where a pass's first token budget came from: this run's journal, the per-user cache, a probe, or fixed batches. */
export const BudgetSource = z.enum(['run', 'cache', 'probe', 'fixed']);

/** An ensemble weight: finite and bounded, so weighted rows stay finite in float32. */
export const WEIGHT_MIN = 1e-6;
export const WEIGHT_MAX = 1e6;
export const Weight = z
  .number('a weight is a number')
  .min(WEIGHT_MIN, `a weight is at least ${WEIGHT_MIN}`)
  .max(WEIGHT_MAX, `a weight is at most ${WEIGHT_MAX}`);

const Docs = z.number('a whole number of documents').int('a whole number of documents');

export const EmbedModelRequest = z.object({ model: z.string().min(1, 'name a model'), weight: Weight.optional(), device: DeviceRequest.default('auto') }).strict();

/** Starts an embed run. Every field but input and models has its default here, and only here. */
export const EmbedRequest = z
  .object({
    input: z.string().min(1, 'choose an input file'),
    models: z.array(EmbedModelRequest).min(1, 'add at least one model'),
    ensembleMode: EnsembleMode.default('simultaneous'),
    aggregate: Aggregate.default('concat'),
    chunkSize: Docs.min(1, 'at least 1 document per chunk').default(1000),
    /** 'auto': token-budget batches sized from memory; a number: fixed batches. */
    batchSize: z.union([z.literal('auto'), Docs.min(1, 'at least 1 document per batch')]).default('auto'),
    minBatch: Docs.min(1, 'at least 1').default(8),
    maxBatch: Docs.min(1, 'at least 1').default(512),
    /** Pins the budget: padded tokens per batch. */
    maxBatchTokens: z.number('a whole number of tokens').int('a whole number of tokens').min(1, 'at least 1 token').nullable().default(null),
    targetMemory: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.85),
    vramLimitGiB: z.number('GiB').positive('above 0 GiB').nullable().default(null),
    oomPolicy: OomPolicy.default('fail'),
    maxSeqLen: z.number('a whole number of tokens').int('a whole number of tokens').min(1, 'at least 1 token').nullable().default(null),
    textField: z.string().min(1, 'name the text field').default('text'),
    idField: z.string().min(1, 'name the id field').default('id'),
    keepChunks: z.boolean().default(false),
  })
  .strict()
  .refine((request) => request.minBatch <= request.maxBatch, { message: 'the floor (min batch) is above the ceiling (max batch)', path: ['minBatch'] })
  .refine((request) => request.models.every((m) => m.weight === undefined) || request.models.every((m) => m.weight !== undefined), {
    message: 'give every model a weight, or none (equal weights)',
    path: ['models'],
  });
export type EmbedRequest = z.input<typeof EmbedRequest>;
export type EmbedRequestParsed = z.output<typeof EmbedRequest>;

/** The defaults, read off the schema (for help texts and forms). */
export const EMBED_REQUEST_DEFAULTS = (() => {
  const { input, models, ...defaults } = EmbedRequest.parse({ input: '-', models: [{ model: '-' }] });
  void input;
  void models;
  return defaults;
})();

/** What the settings a running embed run accepts (setPolicy). */
export const EmbedSettings = z.object({ oom: OomPolicy.optional(), ensembleMode: EnsembleMode.optional() }).strict();
export type EmbedSettings = z.infer<typeof EmbedSettings>;

const Count = z.number().int().nonnegative();
const Bytes = z.number().nullable();

/** Every event an embed run reports while it works (the CLI draws them, the panel charts them). */
export const EmbedEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('started'),
    runDir: z.string(),
    /** Units of work: (model, chunk) pairs. */
    chunksTotal: Count,
    chunksDone: Count,
    rowsTotal: Count,
    recomputing: Count,
    models: z.array(z.string()),
    ensembleMode: EnsembleMode,
  }),
  ...CommonEvent.options,
  z.discriminatedUnion('phase', [
    z.object({
      kind: z.literal('pass'),
      phase: z.literal('started'),
      model: z.string(),
      device: z.string(),
      dim: Count,
      source: z.string(),
      loaded: z.boolean(),
      ms: z.number(),
      budgetSource: BudgetSource,
      initialBudget: z.number().nullable(),
      resident: Count,
    }),
    z.object({ kind: z.literal('pass'), phase: z.literal('completed'), model: z.string(), device: z.string(), ms: z.number(), rows: Count, peak: Bytes, residentPeak: Count, released: z.boolean() }),
  ]),
  z.object({ kind: z.literal('mode'), ensembleMode: EnsembleMode }),
  z.object({
    kind: z.literal('chunk'),
    model: z.string(),
    index: Count,
    chunksDone: Count,
    chunksTotal: Count,
    rowsDone: Count,
    rowsTotal: Count,
    ms: z.number(),
    budget: z.number(),
    /** Bytes of the chunk file now on disk; documents cut at the max length, cut to fit memory, encoded on the CPU. */
    fileBytes: Count,
    truncated: Count,
    cutToFit: Count,
    onCpu: Count,
  }),
  z.object({ kind: z.literal('batch'), docs: Count, tokens: Count, padded: Count, ms: z.number(), peak: Bytes }),
  z.object({ kind: z.literal('oom'), model: z.string(), chunk: Count, docs: Count, tokens: Count, budget: z.number(), action: OomAction }),
  /** A runtime killed as hung (silent past the heartbeat timeout); a fresh one redoes its unit unless giveUp. */
  z.object({
    kind: z.literal('runtime_hung'),
    pid: Count,
    silentS: z.number(),
    timeoutS: z.number(),
    model: z.string().nullable(),
    chunk: Count.nullable(),
    inARow: Count,
    giveUp: z.boolean(),
  }),
]);
export type EmbedEvent = z.infer<typeof EmbedEvent>;

/** An embed run as the panel lists it. */
export const EmbedRunInfo = RunInfoBase.extend({
  kind: z.literal(EMBED_KIND),
  models: z.array(z.string()),
  ensembleMode: EnsembleMode,
  input: z.string(),
  rowsTotal: Count,
  /** Documents cut at the model's max length; cut further to fit memory (`truncate` policy); encoded on the CPU (`cpu` policy). */
  truncated: Count,
  cutToFit: Count,
  onCpu: Count,
});
export type EmbedRunInfo = z.infer<typeof EmbedRunInfo>;
