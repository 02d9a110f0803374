/**
 * The panel's service (Electron or `headroom serve`): the runs in one runs folder,
 * of any kind, the ones executing in this process with their controls, and the
 * events the panel draws. Runs execute in-process through their job (jobs/job.ts),
 * each with its own Python runtime, exactly as the CLI runs them.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiError, parseArgs, StartRunArgs, type CallArgs, type CallName, type CallResult, type EventName, type EventPayload } from '../contract/api.js';
import type { RunInfo } from '../contract/runs.js';
import { asHeadroomError, HeadroomError } from '../errors.js';
import type { AnyJob, JobEvent } from '../jobs/job.js';
import { RecordedSession } from '../jobs/recordedSession.js';
import { findJob, registeredJobs, showKind } from '../jobs/registry.js';
import { readHistory, type HistoryEntry } from '../runs/history.js';
import { acquireLock, describeOwner, readLock } from '../runs/lock.js';
import { runFiles } from '../runs/manifest.js';
import { isRunId, resolveRunDir, showId } from '../runs/runFolder.js';
import { runDoctor } from './doctor.js';
import { GpuHistoryWriter, historyPoints, readGpuHistory } from './gpuHistory.js';
import { GpuMonitor, type RuntimeFigures } from './gpuMonitor.js';
import { LiveRun } from './liveRun.js';
import { folderBytes, RunInfoCache, unreadable } from './runInfo.js';

export interface RunManagerOptions {
  runsDir: string;
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Off in tests that do not want nvidia-smi polled. */
  monitorGpus?: boolean;
  /** The desktop app's file dialog; absent in the browser panel. */
  chooseInputFile?: () => Promise<{ path: string | null }>;
  /** Runs this panel executes at once (each has its own Python runtime); default HEADROOM_MAX_RUNS, else 4. */
  maxRuns?: number;
  /** What the New run form starts from (the embed demo corpus and default model); set by the entry point. */
  formDefaults?: { demoCorpus: string | null; defaultModel: string };
}

const DEFAULT_MAX_RUNS = 4;

function maxRunsFrom(env: NodeJS.ProcessEnv): number {
  const n = Number(env.HEADROOM_MAX_RUNS);
  return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_MAX_RUNS;
}

export class RunManager {
  readonly runsDir: string;
  private readonly live = new Map<string, LiveRun>();
  /** startRun calls still reading their input: they count toward maxRuns too. */
  private starting = 0;
  /** Settings asked for while a run was not running: applied when it resumes. */
  private readonly pending = new Map<string, Record<string, unknown>>();
  private readonly events = new EventEmitter();
  private readonly monitor: GpuMonitor;
  private readonly gpuHistoryWriter: GpuHistoryWriter | null;
  private readonly infos = new RunInfoCache((runId) => this.runDir(runId));

  constructor(private readonly options: RunManagerOptions) {
    this.runsDir = resolve(options.runsDir);
    if (existsSync(this.runsDir) && !statSync(this.runsDir).isDirectory()) {
      throw new HeadroomError('usage', `the runs folder ${this.runsDir} is a file, not a folder: choose a folder (--runs-dir, or HEADROOM_RUNS_DIR)`);
    }
    mkdirSync(this.runsDir, { recursive: true });
    this.events.setMaxListeners(100);
    const watch = options.monitorGpus !== false;
    // The panel's monitor records its samples (<runs-dir>/.gpus/history.jsonl) for the GPUs view.
    this.gpuHistoryWriter = watch ? new GpuHistoryWriter(this.runsDir) : null;
    this.monitor = new GpuMonitor(() => this.runtimes(), { env: options.env, history: this.gpuHistoryWriter ?? undefined });
    this.monitor.on((sample) => this.emit('gpuSample', sample));
    if (watch) this.monitor.start();
  }

  on<N extends EventName>(name: N, listener: (payload: EventPayload<N>) => void): () => void {
    this.events.on(name, listener);
    return () => this.events.off(name, listener);
  }

  private emit<N extends EventName>(name: N, payload: EventPayload<N>): void {
    this.events.emit(name, payload);
  }

  /** Every call that takes a run id starts here: the folder, checked to be inside the runs folder. */
  private runDir(runId: string): string {
    return resolveRunDir(this.runsDir, runId);
  }

  /**
   * Refuses to touch a run that is not running here while a live process holds its
   * lock (a CLI, another panel): read from the lock now, not from what this panel saw.
   */
  private refuseForeignOwner(runId: string, dir: string, action: string): void {
    if (this.live.has(runId)) return;
    const lock = readLock(runFiles(dir).lock);
    if (lock?.verdict.live && lock.owner) {
      throw new ApiError('busy', `run ${showId(runId)} is in use by ${describeOwner(lock.owner)}: cannot ${action} it from here; wait for it to finish, or stop it there`);
    }
  }

  /** A run as the panel lists it: from the cache while it executes here, else from disk. */
  info(runId: string): RunInfo {
    const live = this.live.get(runId);
    const info = live ? this.infos.get(runId) : this.infos.refresh(runId);
    if (!live) return info;
    // What only this panel knows: the run's events word the rest (the kind's onEvent).
    return { ...info, status: live.status, phase: live.phase ?? info.phase, etaMs: live.state === 'running' ? info.etaMs : null };
  }

  listRuns(): CallResult<'listRuns'> {
    // Only what a run id can name: real folders (no symlinks, no hidden or half-deleted ones) with a run.json.
    const ids = readdirSync(this.runsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isRunId(entry.name) && existsSync(join(this.runsDir, entry.name, 'run.json')))
      .map((entry) => entry.name);
    // A folder the run-id check refuses (its run.json a link or a folder) is one unknown run, never a list that fails.
    const infos = ids.map((runId) => {
      try {
        return this.info(runId);
      } catch (error) {
        return unreadable(runId, null, undefined, error instanceof Error ? error.message : String(error));
      }
    });
    return infos.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** A run's history: from the session recording it when it executes here (nothing unwritten is missed), else from disk. */
  async runHistory({ runId }: CallArgs<'runHistory'>): Promise<CallResult<'runHistory'>> {
    const dir = this.runDir(runId);
    const info = this.info(runId);
    const history = this.live.get(runId)?.session?.snapshot() ?? (await readHistory(dir));
    return { runId, jobKind: info.kind, events: history.events, counts: history.counts, lastSeq: history.lastSeq, bytes: history.bytes };
  }

  private jobOf(runId: string): AnyJob {
    const info = this.info(runId);
    const job = info.known ? findJob(info.kind) : undefined;
    if (!job) throw new ApiError('bad_input', `run ${showId(runId)}: ${info.errors[0] ?? `unknown kind ${showKind(info.kind)}`}`);
    return job;
  }

  async startRun(args: CallArgs<'startRun'>): Promise<CallResult<'startRun'>> {
    const { kind, ...rest } = StartRunArgs.parse(args);
    const job = findJob(kind);
    if (!job) throw new ApiError('bad_args', `startRun: there is no job of kind ${showKind(kind)}`);
    const request = parseArgs('startRun', job.request, rest);
    this.refuseOverCapacity();
    this.starting += 1;
    try {
      return await this.createAndLaunch(job, request);
    } finally {
      this.starting -= 1;
    }
  }

  /** A panel that started a runtime per request could be made to start hundreds: past maxRuns, a start waits for the user. */
  private refuseOverCapacity(): void {
    const max = this.options.maxRuns ?? maxRunsFrom(this.options.env ?? process.env);
    if (this.live.size + this.starting >= max) {
      throw new ApiError('busy', `${max} runs are already running in this panel (the most it runs at once; HEADROOM_MAX_RUNS changes it): stop or wait for one, then start again`);
    }
  }

  private async createAndLaunch(job: AnyJob, request: unknown): Promise<CallResult<'startRun'>> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const runId = `${job.kind}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
    try {
      await job.create(request, join(this.runsDir, runId), { python: this.options.python, env: this.options.env });
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const failure = asHeadroomError(error);
      throw new ApiError(failure.kind === 'internal' ? 'internal' : failure.kind === 'usage' ? 'bad_args' : 'bad_input', failure.message);
    }
    this.launch(runId, job, 'start');
    return { runId };
  }

  private launch(runId: string, job: AnyJob, command: 'start' | 'resume'): void {
    const dir = this.runDir(runId);
    const live = new LiveRun();
    this.live.set(runId, live);
    const settings = this.pending.get(runId);
    this.pending.delete(runId);
    const session = new RecordedSession(job, dir, command);
    live.session = session;
    const publish = (entries: HistoryEntry[]): void => {
      for (const entry of entries) this.emit('runEvent', { runId, jobKind: job.kind, ...entry });
    };
    const onEvent = (event: JobEvent): void => {
      // Showing a run must never stop it: a fault here (a listener, a kind's onEvent) is logged, not thrown into the run.
      try {
        const moved = live.apply(event);
        publish(session.record(event));
        // A session's start is read from disk once; every other event is folded into the cached info.
        const info = event.kind === 'started' ? this.infos.refresh(runId) : this.infos.apply(runId, event);
        if (info || moved) this.publishStatus(runId);
      } catch (error) {
        process.stderr.write(`headroom: showing an event of run ${showId(runId)} failed (the run goes on): ${asHeadroomError(error).message}\n`);
      }
    };
    live.done = job
      .execute(dir, { command, control: live.control, signal: live.abort.signal, report: onEvent, settings, python: this.options.python, env: this.options.env })
      .then(
        () => publish(session.end()),
        (error: unknown) => {
          publish(session.say(`run ended: ${asHeadroomError(error).message}`));
          publish(session.end(error));
        },
      )
      .finally(() => {
        live.end();
        this.live.delete(runId);
        this.infos.refresh(runId);
        this.publishStatus(runId);
      });
    this.publishStatus(runId);
  }

  private publishStatus(runId: string): void {
    try {
      this.emit('runStatus', this.info(runId));
    } catch {
      /* deleted meanwhile */
    }
  }

  pauseRun({ runId }: CallArgs<'pauseRun'>): CallResult<'pauseRun'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    this.refuseForeignOwner(runId, dir, 'pause');
    if (!live) throw new ApiError('busy', `run ${showId(runId)} is not running`);
    live.control.pause();
    return { ok: true };
  }

  resumeRun({ runId }: CallArgs<'resumeRun'>): CallResult<'resumeRun'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    if (live) {
      live.control.resume();
      return { ok: true };
    }
    this.refuseForeignOwner(runId, dir, 'resume');
    const job = this.jobOf(runId);
    if (this.info(runId).status === 'done') throw new ApiError('busy', `run ${showId(runId)} is already complete`);
    this.refuseOverCapacity();
    this.launch(runId, job, 'resume');
    return { ok: true };
  }

  stopRun({ runId }: CallArgs<'stopRun'>): CallResult<'stopRun'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    this.refuseForeignOwner(runId, dir, 'stop');
    if (!live) throw new ApiError('busy', `run ${showId(runId)} is not running`);
    live.stop();
    return { ok: true };
  }

  setPolicy({ runId, ...asked }: CallArgs<'setPolicy'>): CallResult<'setPolicy'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    this.refuseForeignOwner(runId, dir, 'change');
    const settings = parseArgs('setPolicy', this.jobOf(runId).settings, asked) as Record<string, unknown>;
    if (live) live.control.change(settings);
    else this.pending.set(runId, { ...this.pending.get(runId), ...Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) });
    return { ok: true };
  }

  /**
   * Deletes a run folder while holding its lock (so no process can start on it
   * meanwhile), after first moving it aside under a hidden name (so nothing can
   * open a half-deleted run).
   */
  deleteCache({ runId }: CallArgs<'deleteCache'>): CallResult<'deleteCache'> {
    const dir = this.runDir(runId);
    if (this.live.has(runId)) throw new ApiError('busy', `run ${showId(runId)} is running: stop it first`);
    const freedBytes = folderBytes(dir);
    let lock: ReturnType<typeof acquireLock>;
    try {
      lock = acquireLock(runFiles(dir).lock, dir);
    } catch (error) {
      const failure = asHeadroomError(error);
      throw new ApiError(failure.kind === 'busy' ? 'busy' : 'internal', `cannot delete run ${showId(runId)}: ${failure.message}`);
    }
    const trash = join(this.runsDir, `.deleting-${runId}-${randomBytes(4).toString('hex')}`);
    try {
      renameSync(dir, trash);
    } catch (error) {
      lock.release();
      throw new ApiError('internal', `cannot delete run ${showId(runId)}: ${asHeadroomError(error).message}`);
    }
    this.infos.forget(runId);
    try {
      rmSync(trash, { recursive: true, force: true });
    } catch (error) {
      throw new ApiError('internal', `run ${showId(runId)} was moved to ${trash} but not fully deleted: ${asHeadroomError(error).message}`);
    }
    return { freedBytes };
  }

  /** A call only some kinds answer (Job.calls): on a run, its kind's; otherwise the one registered kind that answers it. */
  private async kindCall<N extends CallName>(name: N, args: CallArgs<N>): Promise<CallResult<N>> {
    const runtime = { python: this.options.python, env: this.options.env };
    const runId = (args as { runId?: unknown }).runId;
    if (typeof runId === 'string') {
      const dir = this.runDir(runId);
      const job = this.jobOf(runId);
      const handler = job.calls?.[name] as ((args: CallArgs<N>, context: { runDir: string | null; runtime: typeof runtime }) => Promise<CallResult<N>>) | undefined;
      if (!handler) throw new ApiError('bad_args', `${name}: run ${showId(runId)} is a ${showKind(job.kind)} run, which has no ${name}`);
      return handler(args, { runDir: dir, runtime });
    }
    const job = registeredJobs().find((candidate) => candidate.calls?.[name] !== undefined);
    const handler = job?.calls?.[name] as ((args: CallArgs<N>, context: { runDir: string | null; runtime: typeof runtime }) => Promise<CallResult<N>>) | undefined;
    if (!handler) throw new ApiError('bad_args', `${name}: no kind of job this Headroom runs answers it`);
    return handler(args, { runDir: null, runtime });
  }

  listGpus(): CallResult<'listGpus'> {
    return this.monitor.latest();
  }

  /** The monitor's history: as this Engine records it (the bucket not yet written included), else from disk. */
  async gpuHistory({ sinceMs }: CallArgs<'gpuHistory'>): Promise<CallResult<'gpuHistory'>> {
    const recorded = this.gpuHistoryWriter?.snapshot();
    return recorded ? historyPoints(recorded, sinceMs) : readGpuHistory(this.runsDir, sinceMs);
  }

  /** Only a process the monitor lists as an orphan now; anything else is refused (GpuMonitor.killOrphan). */
  killOrphan({ pid }: CallArgs<'killOrphan'>): CallResult<'killOrphan'> {
    return this.monitor.killOrphan(pid);
  }

  async doctor(): Promise<CallResult<'doctor'>> {
    return runDoctor({ runsDir: this.runsDir, python: this.options.python });
  }

  defaults(): CallResult<'defaults'> {
    const form = this.options.formDefaults ?? { demoCorpus: null, defaultModel: '' };
    return { demoCorpus: form.demoCorpus, defaultModel: form.defaultModel, runsDir: this.runsDir, desktop: this.options.chooseInputFile !== undefined };
  }

  private runtimes(): RuntimeFigures[] {
    return [...this.live.entries()].flatMap(([runId, live]) =>
      [...live.runtimes].map(([worker, runtime]) => ({ runId, pid: runtime.pid, device: runtime.device ?? this.infos.get(runId).device, worker, allocated: runtime.allocated, reserved: runtime.reserved, peak: runtime.peak })),
    );
  }

  /** A call already checked against the contract (checkCall): the one switch every transport uses. */
  async call(name: CallName, args: unknown): Promise<unknown> {
    const handlers: { [N in CallName]: (checked: never) => unknown } = {
      listRuns: () => this.listRuns(),
      runHistory: (checked: CallArgs<'runHistory'>) => this.runHistory(checked),
      startRun: (checked: CallArgs<'startRun'>) => this.startRun(checked),
      pauseRun: (checked: CallArgs<'pauseRun'>) => this.pauseRun(checked),
      resumeRun: (checked: CallArgs<'resumeRun'>) => this.resumeRun(checked),
      stopRun: (checked: CallArgs<'stopRun'>) => this.stopRun(checked),
      setPolicy: (checked: CallArgs<'setPolicy'>) => this.setPolicy(checked),
      deleteCache: (checked: CallArgs<'deleteCache'>) => this.deleteCache(checked),
      listGpus: () => this.listGpus(),
      gpuHistory: (checked: CallArgs<'gpuHistory'>) => this.gpuHistory(checked),
      killOrphan: (checked: CallArgs<'killOrphan'>) => this.killOrphan(checked),
      doctor: () => this.doctor(),
      defaults: () => this.defaults(),
      chooseInputFile: () => this.options.chooseInputFile?.() ?? { path: null },
      previewInput: async (checked: CallArgs<'previewInput'>) => (await import('../corpus/preview.js')).previewInput(checked),
      inspectData: (checked: CallArgs<'inspectData'>) => this.kindCall('inspectData', checked),
      runTrials: (checked: CallArgs<'runTrials'>) => this.kindCall('runTrials', checked),
    };
    return handlers[name](args as never);
  }

  /** Stops every run and its runtime (the app is quitting). */
  async close(): Promise<void> {
    this.monitor.stop();
    for (const live of this.live.values()) live.stop();
    await Promise.all([...this.live.values()].map((live) => live.done));
  }
}
