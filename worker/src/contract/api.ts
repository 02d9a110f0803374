/**
 * The control-panel API: every call the renderer can make and every event it
 * receives, whether through Electron's preload or the WebSocket of `headroom serve`.
 * The IPC table, the preload, the server and the client all derive from `CALLS`;
 * a call that is not here cannot be made.
 */
import { z } from 'zod';
import { Aggregate, DeviceRequest, EnsembleMode, OomPolicy } from './protocol.js';

/**
 * A run id names one folder directly inside the runs folder: letters, digits, . _ -,
 * not starting with a dot (so never `.`, `..` or a hidden folder), not ending with one
 * (Windows drops it), and not a Windows device name (CON, NUL, COM1, ...).
 */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_-](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_-])?$/, 'a run id is a folder name of 1 to 100 letters, digits, . _ -, not starting or ending with a dot')
  .refine((id) => !/^(?:con|prn|aux|nul|com\d|lpt\d)(?:\.|$)/i.test(id), 'a run id cannot be a device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)');
const RunRef = z.object({ runId: RunId }).strict();

/** An ensemble weight: finite and bounded, so weighted rows stay finite in float32. */
export const WEIGHT_MIN = 1e-6;
export const WEIGHT_MAX = 1e6;
export const Weight = z
  .number('a weight is a number')
  .min(WEIGHT_MIN, `a weight is at least ${WEIGHT_MIN}`)
  .max(WEIGHT_MAX, `a weight is at most ${WEIGHT_MAX}`);

export const RunState = z.enum(['created', 'running', 'paused', 'interrupted', 'failed', 'done']);
export type RunState = z.infer<typeof RunState>;

export const RunInfo = z.object({
  runId: RunId,
  kind: z.literal('embed'),
  status: RunState,
  models: z.array(z.string()),
  ensembleMode: EnsembleMode,
  input: z.string(),
  chunksDone: z.number().int().nonnegative(),
  chunksTotal: z.number().int().nonnegative(),
  rowsTotal: z.number().int().nonnegative(),
  /** Documents cut at the model's max length; cut further to fit memory (`truncate` policy); encoded on the CPU (`cpu` policy). */
  truncated: z.number().int().nonnegative(),
  cutToFit: z.number().int().nonnegative(),
  onCpu: z.number().int().nonnegative(),
  device: z.string().nullable(),
  createdAt: z.string(),
  /** Bytes of the run folder on disk. */
  diskBytes: z.number().int().nonnegative(),
  errors: z.array(z.string()),
});
export type RunInfo = z.infer<typeof RunInfo>;

export const StartRunSpec = z
  .object({
    input: z.string().min(1, 'choose an input file'),
    models: z
      .array(z.object({ model: z.string().min(1, 'name a model'), weight: Weight.optional(), device: DeviceRequest.default('auto') }).strict())
      .min(1, 'add at least one model'),
    ensembleMode: EnsembleMode.default('simultaneous'),
    aggregate: Aggregate.default('concat'),
    chunkSize: z.number('a whole number of documents').int('a whole number of documents').min(1, 'at least 1 document per chunk').default(1000),
    batchSize: z.union([z.literal('auto'), z.number().int('a whole number of documents').min(1, 'at least 1 document per batch')]).default('auto'),
    minBatch: z.number('a whole number of documents').int('a whole number of documents').min(1, 'at least 1').default(8),
    maxBatch: z.number('a whole number of documents').int('a whole number of documents').min(1, 'at least 1').default(512),
    targetMemory: z.number('a fraction').gt(0, 'above 0').max(1, 'at most 1').default(0.85),
    vramLimitGiB: z.number('GiB').positive('above 0 GiB').nullable().default(null),
    oomPolicy: OomPolicy.default('fail'),
    textField: z.string().min(1).default('text'),
    idField: z.string().min(1).default('id'),
  })
  .strict()
  .refine((spec) => spec.minBatch <= spec.maxBatch, { message: 'the floor (min batch) is above the ceiling (max batch)', path: ['minBatch'] });
export type StartRunSpec = z.input<typeof StartRunSpec>;

export const GpuSample = z.object({
  at: z.number(),
  /** Empty on a machine without an NVIDIA GPU (nvidia-smi absent or failing). */
  gpus: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      name: z.string(),
      memoryUsed: z.number().nonnegative(),
      memoryTotal: z.number().nonnegative(),
      utilization: z.number().min(0).max(100).nullable(),
    }),
  ),
  /** Why gpus is empty, in words; null when it is not. */
  note: z.string().nullable(),
  system: z.object({ memoryUsed: z.number().nonnegative(), memoryTotal: z.number().nonnegative() }),
  /** Headroom's workers and the memory they report. */
  workers: z.array(z.object({ runId: RunId, pid: z.number().int(), device: z.string().nullable(), allocated: z.number().nullable() })),
});
export type GpuSample = z.infer<typeof GpuSample>;

export const DoctorCheck = z.object({
  name: z.string(),
  ok: z.boolean(),
  /** What was found. */
  detail: z.string(),
  /** What to do when it is not ok. */
  fix: z.string().nullable(),
});
export const DoctorReport = z.object({ checks: z.array(DoctorCheck) });
export type DoctorReport = z.infer<typeof DoctorReport>;

/** Every call: its arguments and its result. */
export const CALLS = {
  listRuns: { args: z.object({}).strict(), result: z.array(RunInfo) },
  startRun: { args: StartRunSpec, result: z.object({ runId: RunId }) },
  pauseRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  resumeRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  stopRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  setPolicy: {
    args: z.object({ runId: RunId, oom: OomPolicy.optional(), ensembleMode: EnsembleMode.optional() }).strict(),
    result: z.object({ ok: z.literal(true) }),
  },
  deleteCache: { args: RunRef, result: z.object({ freedBytes: z.number().int().nonnegative() }) },
  listGpus: { args: z.object({}).strict(), result: GpuSample },
  doctor: { args: z.object({}).strict(), result: DoctorReport },
  /** The desktop app's file dialog; the browser panel answers null (type a path instead). */
  chooseInputFile: { args: z.object({}).strict(), result: z.object({ path: z.string().nullable() }) },
  /** What the New run form starts from: the demo corpus and the default model. */
  defaults: { args: z.object({}).strict(), result: z.object({ demoCorpus: z.string().nullable(), defaultModel: z.string(), runsDir: z.string(), desktop: z.boolean() }) },
} as const;

export type CallName = keyof typeof CALLS;
export const CALL_NAMES = Object.keys(CALLS) as CallName[];
export type CallArgs<N extends CallName> = z.input<(typeof CALLS)[N]['args']>;
export type CallResult<N extends CallName> = z.infer<(typeof CALLS)[N]['result']>;

/** A run's progress events as the panel receives them (the Engine's Progress, plus time). */
export const RunEvent = z.object({ runId: RunId, at: z.number(), event: z.record(z.string(), z.unknown()).and(z.object({ kind: z.string() })) });
export type RunEvent = z.infer<typeof RunEvent>;

export const EVENTS = {
  runEvent: RunEvent,
  runStatus: RunInfo,
  gpuSample: GpuSample,
} as const;
export type EventName = keyof typeof EVENTS;
export type EventPayload<N extends EventName> = z.infer<(typeof EVENTS)[N]>;

/** The object the renderer talks to, whichever transport is under it. */
export type HeadroomApi = {
  [N in CallName]: (args: CallArgs<N>) => Promise<CallResult<N>>;
} & {
  on<N extends EventName>(event: N, listener: (payload: EventPayload<N>) => void): () => void;
};

export class ApiError extends Error {
  constructor(
    readonly code: 'bad_args' | 'unknown_call' | 'not_found' | 'busy' | 'bad_input' | 'internal',
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Validates a call by name; the one gate for every transport. */
export function checkCall(name: string, args: unknown): { name: CallName; args: unknown } {
  if (!Object.hasOwn(CALLS, name)) throw new ApiError('unknown_call', `unknown call "${name}"`);
  const call = CALLS[name as CallName];
  const parsed = call.args.safeParse(args ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`).join('; ');
    throw new ApiError('bad_args', `${name}: ${issues}`);
  }
  return { name: name as CallName, args: parsed.data };
}
