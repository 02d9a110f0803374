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

const Bytes = z.number().nonnegative();

/**
 * A Headroom process as the monitor knows it: from the environment Headroom gave it
 * (HEADROOM_RUN_ID, HEADROOM_WORKER) read in /proc. role: 'runtime' is a Python runtime
 * the Engine started (its own process group's leader); 'child' is a process it started
 * (a tree worker, in the runtime's group).
 */
export const HeadroomProcess = z.object({ runId: RunId, role: z.enum(['runtime', 'child']), worker: z.string().nullable(), orphan: z.boolean() });
export type HeadroomProcess = z.infer<typeof HeadroomProcess>;

/** One process holding memory on a GPU. */
export const GpuProcess = z.object({
  pid: z.number().int().positive(),
  /** Its memory on this GPU, in bytes; null where the source gives none. Never the device's total. */
  memoryUsed: Bytes.nullable(),
  /** Where memoryUsed comes from: nvidia-smi's per-process figure, or (when nvidia-smi lists no process: containers, Windows) the worker's own torch figure (reserved, else allocated; its CUDA context not included). */
  source: z.enum(['nvidia-smi', 'torch']),
  /** Which Headroom run (and worker) it serves; null for a process Headroom did not start. */
  headroom: HeadroomProcess.nullable(),
});
export type GpuProcess = z.infer<typeof GpuProcess>;

export const GpuDevice = z.object({
  index: z.number().int().nonnegative(),
  /** nvidia-smi's GPU-... id; null where it gives none. */
  uuid: z.string().nullable(),
  name: z.string(),
  memoryUsed: Bytes,
  memoryTotal: Bytes,
  /** Percent; null where the GPU cannot say ("N/A", "[Not Supported]"), as for every figure below. */
  utilization: z.number().min(0).max(100).nullable(),
  /** Degrees Celsius. */
  temperature: z.number().nullable(),
  /** Watts drawn, and the limit. */
  power: z.number().nonnegative().nullable(),
  powerLimit: z.number().nonnegative().nullable(),
  processes: z.array(GpuProcess),
  /** Which source the processes' figures are from: 'none' when neither nvidia-smi nor a Headroom worker gives any. */
  processSource: z.enum(['nvidia-smi', 'torch', 'none']),
  /** The driver's own use of an idle GPU, subtracted before "unaccounted": learned (the least used seen while no compute process was listed) or the default (0 bytes, so unaccounted overstates rather than hides). */
  baseline: z.object({ bytes: Bytes, source: z.enum(['learned', 'default']) }),
  /** Memory no listed process owns: used - every listed process - the baseline (never below 0); null when some listed process has no figure. */
  unaccounted: Bytes.nullable(),
});
export type GpuDevice = z.infer<typeof GpuDevice>;

/** A Headroom process that outlived its run (its Engine is gone, or no live process holds its run's lock): killOrphan ends its process group. */
export const GpuOrphan = z.object({
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  runId: RunId,
  worker: z.string().nullable(),
  /** Its command line (secrets masked). */
  command: z.string(),
  /** GPU memory nvidia-smi lists for it (all GPUs), and its resident memory; null where unknown. */
  gpuMemory: Bytes.nullable(),
  rss: Bytes.nullable(),
  /** Why it counts as an orphan, in words. */
  why: z.string(),
});
export type GpuOrphan = z.infer<typeof GpuOrphan>;

export const GpuSample = z.object({
  at: z.number(),
  /** Empty on a machine without an NVIDIA GPU (nvidia-smi absent or failing). */
  gpus: z.array(GpuDevice),
  /** What went wrong or is missing, in words (no GPU, a driver error, a hang, a GPU gone since the last sample); null when all is well. */
  note: z.string().nullable(),
  system: z.object({ memoryUsed: Bytes, memoryTotal: Bytes }),
  /** Headroom's runtimes in this Engine and the memory they report themselves (torch's figures, bytes). */
  runtimes: z.array(
    z.object({
      runId: RunId,
      pid: z.number().int(),
      device: z.string().nullable(),
      worker: z.string().nullable(),
      allocated: z.number().nullable(),
      reserved: z.number().nullable(),
      peak: z.number().nullable(),
    }),
  ),
  orphans: z.array(GpuOrphan),
  /** Why orphans cannot be looked for here (no /proc: not Linux); null where they are. */
  orphanNote: z.string().nullable(),
});
export type GpuSample = z.infer<typeof GpuSample>;

/** One point of the monitor's history: per GPU, its figures (null: not known then); system memory in use. */
export const GpuPoint = z.object({
  at: z.number(),
  gpus: z.array(z.object({ index: z.number().int().nonnegative(), used: Bytes, total: Bytes, util: z.number().nullable(), temp: z.number().nullable(), power: z.number().nullable(), unaccounted: Bytes.nullable() })),
  system: Bytes,
});
export type GpuPoint = z.infer<typeof GpuPoint>;
export const GpuHistory = z.object({
  points: z.array(GpuPoint),
  /** The width of the history's buckets now (each keeps the points with the extremes of its figures). */
  bucketMs: z.number().positive(),
  /** Bytes of the file on disk; lines that could not be read (a torn last line) were skipped. */
  bytes: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
});
export type GpuHistory = z.infer<typeof GpuHistory>;

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
  /** The monitor's own bounded history (<runs-dir>/.gpus/history.jsonl) from sinceMs on: what the GPUs view draws. */
  gpuHistory: { args: z.object({ sinceMs: z.number().nonnegative().optional() }).strict(), result: GpuHistory },
  /** SIGKILLs the process group of a process the monitor lists as an orphan now; anything else is refused. */
  killOrphan: { args: z.object({ pid: z.number().int().positive() }).strict(), result: z.object({ pid: z.number().int(), pgid: z.number().int(), killed: z.array(z.number().int()), message: z.string() }) },
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
