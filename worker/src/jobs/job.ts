/**
 * A kind of job (embed, trials, ...): the one interface everything generic (run
 * folders, the panel's service, the CLI's resume/status/serve, the transports) is
 * written against. A kind is one folder under jobs/ that exports a Job and is
 * registered in jobs/builtin.ts; nothing generic names a kind.
 */
import type { Command, Option } from 'commander';
import type { z } from 'zod';
import type { CallArgs, CallName, CallResult } from '../contract/api.js';
import type { RunInfo } from '../contract/runs.js';
import type { BaseRecord, RecordSchema } from '../runs/journal.js';
import type { RunControl } from '../runs/runControl.js';
import type { RunStatus } from '../runs/lifecycle.js';
import type { SampleValues } from '../runs/history.js';

/** Where the Python runtime comes from (tests and the packaged app set these). */
export interface RuntimeOptions {
  python?: string;
  env?: NodeJS.ProcessEnv;
}

/** One event a run reports while it works; each kind's contract module types its own. */
export interface JobEvent {
  kind: string;
}

export interface ExecuteOptions<Settings, Event extends JobEvent = JobEvent> extends RuntimeOptions {
  /** start: the first session after create; resume: any later one. */
  command: 'start' | 'resume';
  /** Pause, resume and setting changes while the run works. */
  control?: RunControl<Settings>;
  signal?: AbortSignal;
  report?: (event: Event) => void;
  /** Changes asked for while the run was not running: journaled and applied from its start. */
  settings?: Settings;
}

/** What every kind's status says, read from disk only (safe while another process owns the run). */
export interface StatusBase {
  runDir: string;
  kind: string;
  status: RunStatus;
  unitsDone: number;
  unitsTotal: number;
  owner: number | null;
  errors: string[];
  lastInterruption: string | null;
  /** Where the run last worked. */
  device: string | null;
  /** The user's words for it (RunInfoBase documents them); a kind that leaves them out gets generic ones (panel/runInfo.ts). */
  phase?: string;
  progressLine?: string;
  elapsedMs?: number;
  sessionStartedAt?: string | null;
  etaMs?: number | null;
  failure?: { why: string; fix: string } | null;
}

/** What a finished session returns; `headroom <cmd> --json` prints it. */
export interface SummaryBase {
  runDir: string;
  status: 'done';
}

export interface Job<Request = unknown, Settings = unknown, Status extends StatusBase = StatusBase, Summary extends SummaryBase = SummaryBase, Event extends JobEvent = JobEvent> {
  readonly kind: string;
  /** What one unit of work is called: chunks, trials. */
  readonly unit: string;
  /** The run format of this kind this Headroom reads and writes (run.json's `format`). */
  readonly format: number;
  /** The start request, with every default (contract/jobs/<kind>.ts). */
  readonly request: z.ZodType<Request>;
  /** The kind's journal records (lifecycle records included: runs/lifecycle.ts). */
  readonly records: RecordSchema<BaseRecord>;
  /** The settings a run takes while it works (the panel's setPolicy); an empty object schema when none. */
  readonly settings: z.ZodType<Settings>;
  /** Checks the request and writes run.json (tagged with this kind) and the journal; nothing is left behind when it fails. */
  create(request: Request, runDir: string, runtime: RuntimeOptions): Promise<void>;
  /** Runs (or resumes) the run to its end under its lock; throws a HeadroomError (interrupted, bad_input, ...) otherwise. */
  execute(runDir: string, options: ExecuteOptions<Settings, Event>): Promise<Summary>;
  /** The run's state and figures from its folder. */
  status(runDir: string): Status;
  /** The kind's own fields of the panel's RunInfo (contract/jobs/<kind>.ts types them). */
  infoFields(status: Status): Record<string, unknown>;
  /**
   * Folds a live event into the panel's cached RunInfo: the new info, or undefined
   * when the event changes nothing the list shows. Status is read again from disk
   * only at a session's start and end.
   */
  onEvent(info: RunInfo, event: Event): RunInfo | undefined;
  /**
   * The kind's high-rate events and the values of each its charts draw (embed: batch
   * sizes, chunks done): the run's history keeps their extremes per time bucket
   * instead of every one (runs/history.ts). Memory events are samples for every kind.
   */
  readonly historySamples?: SampleValues;
  /** The lines `headroom status` prints after the common ones; verbose adds the units of work. */
  statusLines(status: Status, options?: { verbose: boolean }): string[];
  /** The CLI's view of a session in a terminal: progress on stderr, the summary at the end (`--json` is the CLI's own). */
  reporter(options: { verbose: boolean; stderr: NodeJS.WriteStream }): JobReporter<Summary, Event>;
  /** The kind's own CLI commands (embed: `headroom embed`, `headroom demo`). */
  addCommands?(program: Command, cli: CliContext): void;
  /**
   * The panel calls only this kind answers (contract/api.ts names them; trials: inspectData, runTrials), their
   * args already checked at the gate. `runDir` is the run's folder for a call that names a run (runId), resolved
   * inside the runs folder; such a call on a run of another kind is refused before it reaches here.
   */
  readonly calls?: { [N in CallName]?: (args: CallArgs<N>, context: { runDir: string | null; runtime: RuntimeOptions }) => Promise<CallResult<N>> | CallResult<N> };
  /** Flags `headroom resume` takes to change the kind's settings (embed: --oom-policy, --ensemble-mode). */
  resumeFlags?: { options: () => Option[]; settings(flags: Record<string, unknown>): Settings };
}

export interface JobReporter<Summary, Event extends JobEvent = JobEvent> {
  progress(event: Event): void;
  summary(summary: Summary): void;
  close(): void;
}

/** What the CLI lends a kind's commands. */
export interface CliContext {
  /** Runs a session to its end with the CLI's signal handling, reporter and exit codes. */
  runToEnd(runDir: string, command: 'start' | 'resume', options: { json: boolean; verbose: boolean }): Promise<void>;
  /** Names the run folder a failure is about (for resume hints). */
  setRunDir(runDir: string): void;
  /** One line on stderr, secrets masked. */
  say(text: string): void;
}

// Each kind's Job is typed by its own request, settings, status and summary; the registry holds them all.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = Job<any, any, any, any, any>;
