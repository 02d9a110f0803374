/**
 * The control-panel API: every call the renderer can make and every event it
 * receives, whether through Electron's preload or the WebSocket of `headroom serve`.
 * The IPC table, the preload, the server and the client all derive from `CALLS`;
 * a call that is not here cannot be made.
 */
import { z } from 'zod';
import { EMBED_KIND, EmbedRequest, EmbedSettings } from './jobs/embed.js';
import { TRIALS_KIND, TrialsRequest, TrialsSettings, TrialsTable } from './jobs/trials.js';
import { DataColumn } from './trialsProtocol.js';
import { JobKindName, RunId, RunInfo, RunName } from './runs.js';
import type { ApiErrorCode } from './wire.js';

export { RunId, RunInfo, RunState } from './runs.js';

const RunRef = z.object({ runId: RunId }).strict();

/** The requests of the kinds this contract knows, by kind: checked at the gate; a kind it does not know is checked by its job. */
export const JOB_REQUESTS: Record<string, z.ZodType> = { [EMBED_KIND]: EmbedRequest, [TRIALS_KIND]: TrialsRequest };

/** The settings a running run of each known kind takes (setPolicy): fields a known kind names are checked at the gate. */
export const JOB_SETTINGS: Record<string, z.ZodObject> = { [EMBED_KIND]: EmbedSettings, [TRIALS_KIND]: TrialsSettings };

/** startRun: which kind of job (embed unless named), and that kind's request, flat. */
export const StartRunArgs = z.object({ kind: JobKindName.default(EMBED_KIND), name: RunName.optional() }).catchall(z.unknown());
export type StartRunArgs = z.input<typeof StartRunArgs>;

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
  /** Headroom's runtimes and the memory they report. */
  runtimes: z.array(z.object({ runId: RunId, pid: z.number().int(), device: z.string().nullable(), allocated: z.number().nullable() })),
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

/**
 * A run's events as the panel receives them: its kind's event (contract/jobs/<kind>.ts
 * types each) or a session's start or end (SessionEvent), its time, and its number in
 * the run's history (increasing across sessions): a view rebuilt from runHistory
 * applies only the live events past the history's lastSeq.
 */
export const RunEvent = z.object({ runId: RunId, jobKind: z.string(), seq: z.number().int().nonnegative(), at: z.number(), event: z.object({ kind: z.string() }).loose() });
export type RunEvent = z.infer<typeof RunEvent>;

/** What a run showed while it worked, from its history file (bounded: high-rate samples thinned to their extremes). */
export const RunHistory = z.object({
  runId: RunId,
  jobKind: z.string(),
  events: z.array(RunEvent.pick({ seq: true, at: true, event: true })),
  /** Events recorded by kind of event, the thinned ones included (a batch count). */
  counts: z.record(z.string(), z.number().int().nonnegative()),
  lastSeq: z.number().int().nonnegative(),
  /** Bytes of the history file on disk. */
  bytes: z.number().int().nonnegative(),
});
export type RunHistory = z.infer<typeof RunHistory>;

/** The head of an input file, for the New run form: its fields and first records (values cut short, secrets masked). */
export const CorpusPreview = z.object({
  /** The file, absolute. */
  path: z.string(),
  format: z.enum(['jsonl', 'csv', 'txt']),
  bytes: z.number().int().nonnegative(),
  /** Every field (.jsonl) or column (.csv) of the first records, in the order first seen; empty for .txt. */
  fields: z.array(z.string()),
  /** The fields whose every value among the first records is text (what a text field can be). */
  textFields: z.array(z.string()),
  /** The first records, each field's value as shown (cut short, secrets masked); a .txt line is its `text`. */
  records: z.array(z.record(z.string(), z.string())),
  /** Documents in the file when counting them was cheap; else null, and rowsEstimate says about how many. */
  rows: z.number().int().nonnegative().nullable(),
  rowsEstimate: z.number().int().nonnegative().nullable(),
  /** What is wrong in the first records (a line that is not JSON, ...), or null. */
  problem: z.string().nullable(),
});
export type CorpusPreview = z.infer<typeof CorpusPreview>;

/** A data table's columns and first values (or an .npy's shape), for the New sweep form: read by the Python runtime. */
export const DataInspection = z.object({ path: z.string(), format: z.enum(['npy', 'csv', 'parquet']), rows: z.number().int().nonnegative(), columns: z.array(DataColumn) });
export type DataInspection = z.infer<typeof DataInspection>;

/** Every call: its arguments and its result. */
export const CALLS = {
  listRuns: { args: z.object({}).strict(), result: z.array(RunInfo) },
  /** A run's history from disk (and, for a run executing here, what is not written yet). */
  runHistory: { args: RunRef, result: RunHistory },
  startRun: { args: StartRunArgs, result: z.object({ runId: RunId }) },
  pauseRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  resumeRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  stopRun: { args: RunRef, result: z.object({ ok: z.literal(true) }) },
  /** Settings a run takes while it works (embed: oom, ensembleMode); its kind's settings schema checks the rest. */
  setPolicy: { args: z.object({ runId: RunId }).catchall(z.unknown()), result: z.object({ ok: z.literal(true) }) },
  deleteCache: { args: RunRef, result: z.object({ freedBytes: z.number().int().nonnegative() }) },
  listGpus: { args: z.object({}).strict(), result: GpuSample },
  doctor: { args: z.object({}).strict(), result: DoctorReport },
  /** The desktop app's file dialog; the browser panel answers null (type a path instead). */
  chooseInputFile: { args: z.object({}).strict(), result: z.object({ path: z.string().nullable() }) },
  /** The head of an input file (never the whole file): for the New run form's preview and field choice. */
  previewInput: { args: z.object({ path: z.string().min(1, 'choose an input file') }).strict(), result: CorpusPreview },
  /** The columns of a sweep's data table (trials): for the New sweep form's preview and target choice. */
  inspectData: { args: z.object({ path: z.string().min(1, 'choose a data file') }).strict(), result: DataInspection },
  /** Every finished trial of a sweep (trials.jsonl), for its trials table. */
  runTrials: { args: RunRef, result: TrialsTable },
  /** What the New run form starts from: the demo corpus and the default model. */
  defaults: { args: z.object({}).strict(), result: z.object({ demoCorpus: z.string().nullable(), defaultModel: z.string(), runsDir: z.string(), desktop: z.boolean() }) },
} as const;

export type CallName = keyof typeof CALLS;
export const CALL_NAMES = Object.keys(CALLS) as CallName[];
export type CallArgs<N extends CallName> = z.input<(typeof CALLS)[N]['args']>;
export type CallResult<N extends CallName> = z.infer<(typeof CALLS)[N]['result']>;

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
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The Answer a failure travels as, on every transport. */
export function failureAnswer(error: unknown, bound = (text: string): string => text): { ok: false; error: { code: ApiErrorCode; message: string } } {
  const failure = error instanceof ApiError ? error : new ApiError('internal', error instanceof Error ? error.message : String(error));
  return { ok: false, error: { code: failure.code, message: bound(failure.message) } };
}

/** Validates a call by name; the one gate for every transport. */
export function checkCall(name: string, args: unknown): { name: CallName; args: unknown } {
  if (!Object.hasOwn(CALLS, name)) throw new ApiError('unknown_call', `unknown call "${name}"`);
  const checked = parseArgs(name, CALLS[name as CallName].args, args ?? {});
  if (name === 'startRun') {
    const { kind, ...request } = checked as { kind: string };
    const schema = Object.hasOwn(JOB_REQUESTS, kind) ? JOB_REQUESTS[kind] : undefined;
    if (schema) return { name, args: { kind, ...(parseArgs(name, schema, request) as object) } };
  }
  if (name === 'setPolicy') {
    for (const [field, value] of Object.entries(checked as object)) {
      const known = Object.values(JOB_SETTINGS).find((settings) => Object.hasOwn(settings.shape, field));
      if (known) parseArgs(name, z.object({ [field]: known.shape[field] as z.ZodType }), { [field]: value });
    }
  }
  return { name: name as CallName, args: checked };
}

/** Parses arguments with a schema, or throws bad_args naming every field that is wrong. */
export function parseArgs(name: string, schema: z.ZodType, args: unknown): unknown {
  const parsed = schema.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`).join('; ');
    throw new ApiError('bad_args', `${name}: ${issues}`);
  }
  return parsed.data;
}
