/**
 * The Engine as a service for the panel (Electron or `headroom serve`): the runs
 * in one runs folder, the ones running in this process with their controls, and
 * the events the panel draws. Runs execute in-process through executeRun, each
 * with its own Python worker, exactly as the CLI runs them.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiError, StartRunSpec, type CallArgs, type CallName, type CallResult, type EventName, type EventPayload, type RunInfo, type RunState } from '../contract/api.js';
import type { EnsembleMode, OomPolicy } from '../contract/protocol.js';
import type { z } from 'zod';
import { createEmbedRun, EMBED_DEFAULTS, executeRun, type Progress } from '../jobs/embed/embedRun.js';
import { ensembleEntries } from '../jobs/embed/ensemble.js';
import { RunControl } from '../jobs/embed/runControl.js';
import { runStatus } from '../jobs/embed/runStatus.js';
import { asHeadroomError } from '../errors.js';
import { acquireLock, describeOwner, readLock } from '../runs/lock.js';
import { readManifest, runPaths } from '../runs/manifest.js';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../jobs/embed/defaults.js';
import { runDoctor } from './doctor.js';
import { GpuMonitor } from './gpuMonitor.js';
import { isRunId, resolveRunDir, showId } from '../runs/runFolder.js';

interface LiveRun {
  control: RunControl;
  abort: AbortController;
  paused: boolean;
  workerPid: number | null;
  allocated: number | null;
  device: string | null;
  done: Promise<void>;
}

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
}

const DEFAULT_MAX_RUNS = 4;

function maxRunsFrom(env: NodeJS.ProcessEnv): number {
  const n = Number(env.HEADROOM_MAX_RUNS);
  return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_MAX_RUNS;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    try {
      const stat = lstatSync(join(dir, name)); // a symlink inside counts as itself, never as what it points to
      if (stat.isFile()) total += stat.size;
    } catch {
      /* removed while we looked */
    }
  }
  return total;
}

export class RunManager {
  readonly runsDir: string;
  private readonly live = new Map<string, LiveRun>();
  /** startRun calls still reading their input: they count toward maxRuns too. */
  private starting = 0;
  /** Changes asked for while a run was not running: applied when it resumes. */
  private readonly pending = new Map<string, { oomPolicy?: OomPolicy; ensembleMode?: EnsembleMode }>();
  private readonly events = new EventEmitter();
  private readonly monitor: GpuMonitor;

  constructor(private readonly options: RunManagerOptions) {
    this.runsDir = resolve(options.runsDir);
    mkdirSync(this.runsDir, { recursive: true });
    this.events.setMaxListeners(100);
    this.monitor = new GpuMonitor(() => this.workers());
    this.monitor.on((sample) => this.emit('gpuSample', sample));
    if (options.monitorGpus !== false) this.monitor.start();
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
    const lock = readLock(runPaths(dir).lock);
    if (lock?.verdict.live && lock.owner) {
      throw new ApiError('busy', `run ${showId(runId)} is in use by ${describeOwner(lock.owner)}: cannot ${action} it from here; wait for it to finish, or stop it there`);
    }
  }

  info(runId: string): RunInfo {
    const dir = this.runDir(runId);
    const report = runStatus(dir);
    const manifest = readManifest(dir);
    const live = this.live.get(runId);
    const status: RunState = live ? (live.paused ? 'paused' : 'running') : report.status === 'running' ? 'running' : report.status;
    return {
      runId,
      kind: 'embed',
      status,
      models: manifest.spec.models.map((entry) => entry.model),
      ensembleMode: report.ensembleMode as EnsembleMode,
      input: report.input,
      chunksDone: report.chunksDone,
      chunksTotal: report.chunksTotal,
      rowsTotal: manifest.input.rows,
      truncated: report.truncated,
      cutToFit: report.cutToFit,
      onCpu: report.onCpu,
      device: live?.device ?? report.device,
      createdAt: manifest.createdAt,
      diskBytes: folderBytes(dir),
      errors: report.errors,
    };
  }

  listRuns(): CallResult<'listRuns'> {
    // Only what a run id can name: real folders (no symlinks, no hidden or half-deleted ones) with a run.json.
    const ids = readdirSync(this.runsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isRunId(entry.name) && existsSync(join(this.runsDir, entry.name, 'run.json')))
      .map((entry) => entry.name);
    const runs: RunInfo[] = [];
    for (const runId of ids) {
      try {
        runs.push(this.info(runId));
      } catch {
        /* a folder of another Headroom version, or half-written: not listed */
      }
    }
    return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async startRun(args: CallArgs<'startRun'>): Promise<CallResult<'startRun'>> {
    const spec = StartRunSpec.parse(args);
    this.refuseOverCapacity();
    this.starting += 1;
    try {
      return await this.createAndLaunch(spec);
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

  private async createAndLaunch(spec: z.output<typeof StartRunSpec>): Promise<CallResult<'startRun'>> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const runId = `embed-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
    try {
      const weights = spec.models.map((entry) => entry.weight);
      if (weights.some((w) => w === undefined) && weights.some((w) => w !== undefined)) {
        throw new ApiError('bad_args', 'startRun: give every model a weight, or none (equal weights)');
      }
      const { input, models, ...settings } = spec;
      await createEmbedRun(input, join(this.runsDir, runId), {
        ...EMBED_DEFAULTS,
        ...settings,
        models: ensembleEntries(
          models.map((entry) => ({ model: entry.model, device: entry.device })),
          weights.every((w) => w !== undefined) ? (weights as number[]) : undefined,
        ),
      }, { python: this.options.python, env: this.options.env });
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const failure = asHeadroomError(error);
      throw new ApiError(failure.kind === 'internal' ? 'internal' : 'bad_input', failure.message);
    }
    this.launch(runId, 'embed');
    return { runId };
  }

  private launch(runId: string, command: 'embed' | 'resume'): void {
    const dir = this.runDir(runId);
    const live: LiveRun = { control: new RunControl(), abort: new AbortController(), paused: false, workerPid: null, allocated: null, device: null, done: Promise.resolve() };
    this.live.set(runId, live);
    const changes = this.pending.get(runId) ?? {};
    this.pending.delete(runId);
    const onProgress = (event: Progress): void => {
      if (event.kind === 'worker') live.workerPid = event.pid;
      if (event.kind === 'memory') live.allocated = event.allocated;
      if (event.kind === 'pass' && event.phase === 'started') live.device = event.device;
      if (event.kind === 'paused' || event.kind === 'resumed') {
        live.paused = event.kind === 'paused';
        this.publishStatus(runId);
      }
      this.emit('runEvent', { runId, at: Date.now(), event: { ...event } });
      if (event.kind === 'chunk' || event.kind === 'started') this.publishStatus(runId);
    };
    live.done = executeRun(dir, { command, control: live.control, signal: live.abort.signal, onProgress, python: this.options.python, env: this.options.env, ...changes })
      .then(
        () => undefined,
        (error: unknown) => {
          const failure = asHeadroomError(error);
          this.emit('runEvent', { runId, at: Date.now(), event: { kind: 'log', line: `run ended: ${failure.message}` } });
        },
      )
      .finally(() => {
        this.live.delete(runId);
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
    const { status } = this.info(runId);
    if (status === 'done') throw new ApiError('busy', `run ${showId(runId)} is already complete`);
    this.refuseOverCapacity();
    this.launch(runId, 'resume');
    return { ok: true };
  }

  stopRun({ runId }: CallArgs<'stopRun'>): CallResult<'stopRun'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    this.refuseForeignOwner(runId, dir, 'stop');
    if (!live) throw new ApiError('busy', `run ${showId(runId)} is not running`);
    live.abort.abort();
    return { ok: true };
  }

  setPolicy({ runId, oom, ensembleMode }: CallArgs<'setPolicy'>): CallResult<'setPolicy'> {
    const dir = this.runDir(runId);
    const live = this.live.get(runId);
    this.refuseForeignOwner(runId, dir, 'change');
    if (live) {
      if (oom) live.control.setOomPolicy(oom);
      if (ensembleMode) live.control.setEnsembleMode(ensembleMode);
    } else {
      this.pending.set(runId, { ...this.pending.get(runId), ...(oom ? { oomPolicy: oom } : {}), ...(ensembleMode ? { ensembleMode } : {}) });
    }
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
      lock = acquireLock(runPaths(dir).lock, dir);
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
    try {
      rmSync(trash, { recursive: true, force: true });
    } catch (error) {
      throw new ApiError('internal', `run ${showId(runId)} was moved to ${trash} but not fully deleted: ${asHeadroomError(error).message}`);
    }
    return { freedBytes };
  }

  listGpus(): CallResult<'listGpus'> {
    return this.monitor.latest();
  }

  async doctor(): Promise<CallResult<'doctor'>> {
    return runDoctor({ runsDir: this.runsDir, python: this.options.python });
  }

  defaults(): CallResult<'defaults'> {
    return { demoCorpus: existsSync(DEMO_CORPUS) ? DEMO_CORPUS : null, defaultModel: DEFAULT_MODEL, runsDir: this.runsDir, desktop: this.options.chooseInputFile !== undefined };
  }

  private workers(): { runId: string; pid: number; device: string | null; allocated: number | null }[] {
    return [...this.live.entries()].flatMap(([runId, live]) => (live.workerPid === null ? [] : [{ runId, pid: live.workerPid, device: live.device, allocated: live.allocated }]));
  }

  /** A call already checked against the contract (checkCall): the one switch every transport uses. */
  async call(name: CallName, args: unknown): Promise<unknown> {
    const handlers: { [N in CallName]: (checked: never) => unknown } = {
      listRuns: () => this.listRuns(),
      startRun: (checked: CallArgs<'startRun'>) => this.startRun(checked),
      pauseRun: (checked: CallArgs<'pauseRun'>) => this.pauseRun(checked),
      resumeRun: (checked: CallArgs<'resumeRun'>) => this.resumeRun(checked),
      stopRun: (checked: CallArgs<'stopRun'>) => this.stopRun(checked),
      setPolicy: (checked: CallArgs<'setPolicy'>) => this.setPolicy(checked),
      deleteCache: (checked: CallArgs<'deleteCache'>) => this.deleteCache(checked),
      listGpus: () => this.listGpus(),
      doctor: () => this.doctor(),
      defaults: () => this.defaults(),
      chooseInputFile: () => this.options.chooseInputFile?.() ?? { path: null },
    };
    return handlers[name](args as never);
  }

  /** Stops every run and its worker (the app is quitting). */
  async close(): Promise<void> {
    this.monitor.stop();
    for (const live of this.live.values()) live.abort.abort();
    await Promise.all([...this.live.values()].map((live) => live.done));
  }
}
