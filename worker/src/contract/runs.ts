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

/** A kind of job: embed, trials, ... */
export const JobKindName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a job kind is a short lower-case name');

/** Where a run stands. `unknown`: its kind is not one this Headroom knows (a newer version made it). */
export const RunState = z.enum(['created', 'running', 'paused', 'interrupted', 'failed', 'done', 'unknown']);
export type RunState = z.infer<typeof RunState>;

const Count = z.number().int().nonnegative();

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
});
/** A run as the panel lists it: the base, plus its kind's own fields (parse with its kind's schema to read them). */
export const RunInfo = RunInfoBase.loose();
export type RunInfo = z.infer<typeof RunInfo>;

/**
 * The events every kind reports in the same shape (its contract module's union
 * includes them): the panel's generic half reads these, and only these.
 */
export const CommonEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('paused') }),
  z.object({ kind: z.literal('resumed') }),
  z.object({ kind: z.literal('log'), line: z.string() }),
  /** A Python runtime is up: its pid (the GPU monitor shows it). */
  z.object({ kind: z.literal('runtime'), pid: Count, torch: z.string(), cuda: z.boolean() }),
  /** The runtime's memory, in bytes; null where the device cannot say. */
  z.object({ kind: z.literal('memory'), allocated: z.number().nullable(), reserved: z.number().nullable(), free: z.number().nullable(), total: z.number().nullable(), peak: z.number().nullable() }),
]);
export type CommonEvent = z.infer<typeof CommonEvent>;
