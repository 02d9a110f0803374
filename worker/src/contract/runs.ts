/** What every run has, whatever its kind: its id, its state, and how the panel lists it. */
import { z } from 'zod';

/**
 * A run id names one folder directly inside the runs folder: letters, digits, . _ -,
 * not starting with a dot (so never `.`, `..` or a hidden folder), not ending with one
 * (Windows drops it), and not a Windows device name (CON, NUL, COM1, ...).
 */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_-](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_-])?$/, 'a run id is a folder name of 1 to 100 letters, digits, . _ -, not starting or ending with a dot')
  .refine((id) => !/^(?:con|prn|aux|nul|com\d|lpt\d)(?:\.|$)/i.test(id), 'a run id cannot be a device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)');

/**
 * A run's name as the user gave it (optional): short, printable, one line. Shown in
 * the list beside the run id; never a folder name. A secret in it is refused when the
 * run is created (run.json is stored with secrets masked).
 */
export const RunName = z
  .string()
  .trim()
  .min(1, 'a name has at least one character')
  .max(80, 'a name is at most 80 characters')
  // Control and format characters (bidirectional overrides, zero-width and tag characters, BOMs) and line breaks would garble or disguise a list row.
  .refine((name) => !/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(name), 'a name is printable text on one line (no control or invisible characters)');

/** A kind of job: embed, trials, ... */
export const JobKindName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a job kind is a short lower-case name');

/** Where a run stands. `unknown`: its kind is not one this Headroom knows (a newer version made it). */
export const RunState = z.enum(['created', 'running', 'paused', 'interrupted', 'failed', 'done', 'unknown']);
export type RunState = z.infer<typeof RunState>;

const Count = z.number().int().nonnegative();

/** Why a run failed, in one sentence, and what to do about it. */
export const RunFailure = z.object({ why: z.string(), fix: z.string() });
export type RunFailure = z.infer<typeof RunFailure>;

/** The fields every kind's RunInfo has; a kind's contract module extends it (contract/jobs/<kind>.ts). */
export const RunInfoBase = z.object({
  runId: RunId,
  kind: z.string(),
  /** False when no job of this kind is registered: listed, never run. */
  known: z.boolean(),
  status: RunState,
  /** Units of work done and planned, and what a unit is (chunks, trials). */
  unitsDone: Count,
  unitsTotal: Count,
  unit: z.string(),
  device: z.string().nullable(),
  createdAt: z.string(),
  /** Bytes of the run folder on disk. */
  diskBytes: Count,
  errors: z.array(z.string()),
  /** The name the user gave the run (RunName), or null. */
  name: z.string().nullable(),
  /** What is happening now, in one line of the user's words ("encoding chunk 6 of 16", "paused by you"); the kind's job words it. */
  phase: z.string(),
  /** Progress in the user's words ("chunk 6 of 16 · 12,000/30,000 documents"); units done/total stay for tooltips. */
  progressLine: z.string(),
  /** Work time of the sessions that ended (from the journal, so it survives restarts). */
  elapsedMs: z.number().nonnegative(),
  /** When the session running now began (ISO); null unless running. Elapsed now = elapsedMs + (now - sessionStartedAt). */
  sessionStartedAt: z.string().nullable(),
  /** Time left at this session's rate; null when not running, paused, or nothing done yet this session. */
  etaMs: z.number().nonnegative().nullable(),
  /** A failed run: why, in one sentence, and what to do. Null unless failed. */
  failure: RunFailure.nullable(),
});
/** A run as the panel lists it: the base, plus its kind's own fields (parse with its kind's schema to read them). */
export const RunInfo = RunInfoBase.loose();
export type RunInfo = z.infer<typeof RunInfo>;

/**
 * The events every kind reports in the same shape (its contract module's union
 * includes them): the panel's generic half reads these, and only these.
 */
export const CommonEvent = z.discriminatedUnion('kind', [
  /** reason: why the run paused itself (the VRAM guard's critical level); absent when the user paused it. */
  z.object({ kind: z.literal('paused'), reason: z.string().optional() }),
  z.object({ kind: z.literal('resumed') }),
  z.object({ kind: z.literal('log'), line: z.string() }),
  /** A Python runtime is up: its pid (the GPU monitor shows it). */
  z.object({ kind: z.literal('runtime'), pid: Count, torch: z.string(), cuda: z.boolean(), worker: z.string().optional() }),
  /** The runtime's memory, in bytes; null where the device cannot say. */
  z.object({ kind: z.literal('memory'), allocated: z.number().nullable(), reserved: z.number().nullable(), free: z.number().nullable(), total: z.number().nullable(), peak: z.number().nullable(), worker: z.string().optional() }),
]);
export type CommonEvent = z.infer<typeof CommonEvent>;

/**
 * A session's start and end (a start or a resume of the run), recorded by the
 * Engine around every kind's events: the panel's time axis shows the gaps
 * between sessions (an interruption) and how each ended.
 */
export const SessionEvent = z.discriminatedUnion('phase', [
  z.object({ kind: z.literal('session'), phase: z.literal('start'), command: z.enum(['start', 'resume']) }),
  z.object({ kind: z.literal('session'), phase: z.literal('end'), outcome: z.enum(['done', 'interrupted', 'failed']), message: z.string().nullable() }),
]);
export type SessionEvent = z.infer<typeof SessionEvent>;
