/**
 * The embedding job's half of the contract: the request that starts a run (with
 * every default, the one definition the CLI, the panel's form, the demo and the
 * tests parse), the events a run reports, and what the panel shows of it.
 */
import { z } from 'zod';
import { CommonEvent, RunInfoBase, RunName } from '../runs.js';
import { Aggregate, DeviceRequest, EnsembleMode, OomAction, OomPolicy } from '../protocol.js';

export const EMBED_KIND = 'embed';

/** What the VRAM guard does at the critical level (see protocol.ts Batching.onCritical). */
export const OnCritical = z.enum(['shrink', 'pause']);
export type OnCritical = z.infer<typeof OnCritical>;

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

/** A worker's device (`--workers`): cpu, or cuda:N (N as the Engine's own CUDA_VISIBLE_DEVICES numbers them). */
export const WorkerDevice = z.string().regex(/^(cpu|cuda:\d+)$/, 'a worker device is cpu or cuda:N');
/** Worker ids, in --workers order: w0, w1, ... (the single worker of a run without --workers is w0). */
export const workerId = (index: number): string => `w${index}`;

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
    /** The VRAM guard's levels: fractions of the device (or of the cap, --vram-limit) that memory used may reach before a warning, and before it acts. */
    vramWarning: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.85),
    vramCritical: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.95),
    /** At the critical level: shrink the token budget and release cached memory, or pause the run (resumable). */
    onCritical: OnCritical.default('shrink'),
    maxSeqLen: z.number('a whole number of tokens').int('a whole number of tokens').min(1, 'at least 1 token').nullable().default(null),
    textField: z.string().min(1, 'name the text field').default('text'),
    idField: z.string().min(1, 'name the id field').default('id'),
    keepChunks: z.boolean().default(false),
    /** One worker (runtime) per device, sharing the run's units; null: one worker on the models' own devices. */
    workers: z.array(WorkerDevice).min(1, 'list at least one worker device').nullable().default(null),
    /** The run's name (generic: every kind's request takes it; run.json's header keeps it). */
    name: RunName.optional(),
  })
  .strict()
  .refine((request) => request.minBatch <= request.maxBatch, { message: 'the floor (min batch) is above the ceiling (max batch)', path: ['minBatch'] })
  .refine((request) => request.vramWarning < request.vramCritical, { message: 'the warning level is not below the critical level', path: ['vramWarning'] })
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

/** The New run form's name of each request field (what its labels say): the Engine words its refusals with them. */
const FORM_LABELS: Record<string, string> = {
  input: 'Input file',
  textField: 'Text field',
  idField: 'ID field',
  name: 'Name',
  models: 'Models',
  chunkSize: 'Chunk size',
  batchSize: 'Fixed batch',
  minBatch: 'Floor',
  maxBatch: 'Ceiling',
  targetMemory: 'Target memory',
  vramLimitGiB: 'VRAM limit',
  oomPolicy: 'OOM policy',
  vramWarning: 'VRAM warning',
  vramCritical: 'VRAM critical',
  onCritical: 'At critical',
  workers: 'Workers',
};
const MODEL_FIELD = /^models\.(\d+)\.(model|weight|device)$/;

/** "Model 2" for models.1.model, "Text field" for textField: the form's words for a request path. */
export function embedFormLabel(path: string): string {
  const model = MODEL_FIELD.exec(path);
  if (model) return `${{ model: 'Model', weight: 'Weight', device: 'Device' }[model[2] as 'model']} ${Number(model[1]) + 1}`;
  return Object.hasOwn(FORM_LABELS, path) ? FORM_LABELS[path]! : path;
}

/** Which request field a line of a refusal names by its label ("Model 1: ..."), and what it says; undefined when it names none. */
export function embedFieldOfLine(line: string): { path: string; message: string } | undefined {
  const label = /^((?:Model|Weight|Device) (\d+)|[A-Za-z][A-Za-z ]*?): (.*)$/s.exec(line);
  if (!label) return undefined;
  const numbered = /^(Model|Weight|Device) (\d+)$/.exec(label[1]!);
  const path = numbered
    ? `models.${Number(numbered[2]) - 1}.${numbered[1]!.toLowerCase()}`
    : Object.keys(FORM_LABELS).find((key) => FORM_LABELS[key] === label[1]);
  return path === undefined ? undefined : { path, message: label[3]! };
}

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
      /** The worker (w0, w1, ...) whose work this is; absent before workers (older runs). */
      worker: z.string().optional(),
    }),
    z.object({ kind: z.literal('pass'), phase: z.literal('completed'), model: z.string(), device: z.string(), ms: z.number(), rows: Count, peak: Bytes, residentPeak: Count, released: z.boolean(), worker: z.string().optional() }),
  ]),
  z.object({ kind: z.literal('mode'), ensembleMode: EnsembleMode }),
  /** The OOM policy changed while the run works (setPolicy, journaled as policy_changed). */
  z.object({ kind: z.literal('policy'), oomPolicy: OomPolicy }),
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
    worker: z.string().optional(),
  }),
  z.object({ kind: z.literal('batch'), docs: Count, tokens: Count, padded: Count, ms: z.number(), peak: Bytes, worker: z.string().optional() }),
  z.object({ kind: z.literal('oom'), model: z.string(), chunk: Count, docs: Count, tokens: Count, budget: z.number(), action: OomAction, worker: z.string().optional() }),
  /** The VRAM guard: memory used (CUDA reserved, CPU RSS) crossed a level of `total` (the device or the cap); warn, shrink (budget now `budget`) or pause. */
  z.object({
    kind: z.literal('vram_level'),
    model: z.string(),
    chunk: Count,
    level: z.enum(['warning', 'critical']),
    used: Count,
    total: Count,
    action: z.enum(['warn', 'shrink', 'pause']),
    budget: z.number().nullable(),
    worker: z.string().optional(),
  }),
  /** Memory after clean-up between units (a chart sample: the leak detector's input); chunk null: between passes. */
  z.object({ kind: z.literal('baseline'), model: z.string(), chunk: Count.nullable(), bytes: Count, worker: z.string().optional() }),
  /** The leak detector: the baseline keeps rising (slope in MB per unit over `units`); `recycle`: drifted past the limit, a fresh worker takes over. */
  z.object({ kind: z.literal('leak_warning'), model: z.string(), chunk: Count.nullable(), slopeMB: z.number(), driftMB: z.number(), units: Count, recycle: z.boolean(), worker: z.string().optional() }),
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
    worker: z.string().optional(),
  }),
  /**
   * A worker of the run changed state: its runtime started (pid), restarted after it hung,
   * died or was recycled (reason; attempt: failures in a row), or was given up (the others go on).
   */
  z.object({
    kind: z.literal('worker'),
    worker: z.string(),
    device: z.string().nullable(),
    phase: z.enum(['started', 'restarted', 'given_up']),
    pid: Count.nullable(),
    reason: z.string().nullable(),
    attempt: Count,
  }),
]);
export type EmbedEvent = z.infer<typeof EmbedEvent>;

/** The settings an embed run works with now: run.json's spec, with the OOM policy and ensemble mode changed since. */
export const EmbedSettingsInForce = z.object({
  /** device: the one asked for (auto, cpu, cuda:0); ranOn: where its last pass ran, null before any pass. */
  models: z.array(z.object({ model: z.string(), key: z.string(), weight: z.number(), device: z.string(), ranOn: z.string().nullable() })),
  ensembleMode: EnsembleMode,
  oomPolicy: OomPolicy,
  aggregate: Aggregate,
  chunkSize: Count,
  batchSize: z.union([z.literal('auto'), Count]),
  minBatch: Count,
  maxBatch: Count,
  maxBatchTokens: Count.nullable(),
  targetMemory: z.number(),
  vramLimitGiB: z.number().nullable(),
  maxSeqLen: Count.nullable(),
  keepChunks: z.boolean(),
  /** The VRAM guard's levels (fractions of the device or of the cap) and what critical does. */
  vramWarning: z.number(),
  vramCritical: z.number(),
  onCritical: OnCritical,
  /** --workers as given (null: one worker on the models' own devices). */
  workers: z.array(z.string()).nullable(),
});
export type EmbedSettingsInForce = z.infer<typeof EmbedSettingsInForce>;

/** A done embed run's figures, all from its journal (the sha256s are the ones `headroom status --json` reports). */
export const EmbedDoneSummary = z.object({
  /** embeddings.npy and ids.txt: absolute paths. */
  files: z.array(z.object({ name: z.string(), path: z.string(), bytes: Count.nullable(), sha256: z.string() })),
  rows: Count,
  dim: Count,
  /** Every session of the run. */
  elapsedMs: z.number().nonnegative(),
  docsPerSecond: z.number().nonnegative(),
  /** Real (unpadded) tokens, every model. */
  tokensPerSecond: z.number().nonnegative(),
  /** (document, model) pairs cut at the model's max length, and their share of all pairs (0..1). */
  truncated: Count,
  truncatedShare: z.number().min(0).max(1),
  cutToFit: Count,
  onCpu: Count,
  /** Out-of-memory errors the run recovered from (smaller batches, CPU, cut, fresh runtime). */
  oomsRecovered: Count,
  batches: Count,
});
export type EmbedDoneSummary = z.infer<typeof EmbedDoneSummary>;

/** One worker of a run as the panel draws it: its device, its state, and its latest memory and batch figures. */
export const EmbedWorkerInfo = z.object({
  id: z.string(),
  /** As listed in --workers (cuda:1); null for the single worker of a run without --workers (its models' devices). */
  device: z.string().nullable(),
  pid: Count.nullable(),
  /** stopped: no process runs its run now (interrupted or failed), and it was neither done nor given up. */
  state: z.enum(['starting', 'working', 'restarting', 'given_up', 'done', 'stopped']),
  /** Fresh runtimes it got after a hang, a death or a recycle. */
  restarts: Count,
  chunksDone: Count,
  /** Latest memory sample (bytes) and peak; latest batch's documents; the token budget of its latest chunk. */
  allocated: z.number().nullable(),
  peak: z.number().nullable(),
  batchDocs: Count.nullable(),
  budget: z.number().nullable(),
});
export type EmbedWorkerInfo = z.infer<typeof EmbedWorkerInfo>;

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
  /** Documents with every model's embedding done; chunks of the input (a unit is a chunk for one model). */
  documentsDone: Count,
  chunksTotal: Count,
  /** Documents done when the session running now began: the base of its rate; null unless running. */
  sessionDocumentsStart: Count.nullable(),
  /** Running: this session's rate; ended: the run's average. Null when not known (tokens/s live: see the charts). */
  docsPerSecond: z.number().nonnegative().nullable(),
  tokensPerSecond: z.number().nonnegative().nullable(),
  settings: EmbedSettingsInForce,
  /** Only for a done run. */
  summary: EmbedDoneSummary.nullable(),
  /** Each worker of a run with --workers (live events keep it current); absent or null without. */
  workers: z.array(EmbedWorkerInfo).nullable().optional(),
});
export type EmbedRunInfo = z.infer<typeof EmbedRunInfo>;
