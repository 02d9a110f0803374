/**
 * A sweep from start to finish: check the request and the data with the runtime
 * (trials_check) before any folder exists, write run.json and the journal, then
 * run sessions under the lock until the journal holds exactly `trials` complete
 * results. trials.jsonl is the journal's trial_done records, one per line: it is
 * rewritten from the journal (tmp + rename) whenever a session opens the run,
 * and appended to, after each record, while the session works.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TRIALS_KIND, TrialsRequest, type FamilySummary, type TrialsEvent, type TrialsRequestParsed, type TrialsRunInfo, type TrialsSettings } from '../../contract/jobs/trials.js';
import type { SweepSpec, TrialResult } from '../../contract/trialsProtocol.js';
import { inputChunks, openInput } from '../../corpus/inputFile.js';
import { asHeadroomError, HeadroomError } from '../../errors.js';
import { writeFileAtomic } from '../../runs/atomicFile.js';
import { checkWritable, removeDebris } from '../../runs/debris.js';
import { Journal } from '../../runs/journal.js';
import { journalFailure } from '../../runs/lifecycle.js';
import { acquireLock } from '../../runs/lock.js';
import { writeManifest } from '../../runs/manifest.js';
import { refuseMaskedFields } from '../../runs/storable.js';
import { HEADROOM_VERSION } from '../../version.js';
import type { ExecuteOptions, RuntimeOptions } from '../job.js';
import { askRuntime } from './askRuntime.js';
import { readManifest, RUN_FORMAT, runPaths, type FileIdentity, type RunManifest } from './manifest.js';
import { JournalRecord, type TrialsJournal } from './records.js';
import { familySummaries } from './families.js';
import { finishedTrials, replay } from './runState.js';
import { runSweepSession } from './sweepSession.js';
import { runEnv } from '../../supervisor/runtimeProcess.js';

const GIB = 1024 ** 3;

export interface TrialsSummary {
  runDir: string;
  status: 'done';
  /** Complete trials over every family. */
  trials: number;
  task: RunManifest['spec']['task'];
  metric: RunManifest['checked']['metric'];
  best: TrialsRunInfo['best'];
  /** The families side by side, in the spec's order, ranked by their best values. */
  families: FamilySummary[];
  /** Trials finished by this session (none when the run was already done). */
  finishedThisSession: number;
  seconds: number;
  trialsFile: string;
  study: string;
}

/** A target names a .npy file or a column of the table. */
const isNpyPath = (target: string): boolean => target.toLowerCase().endsWith('.npy');

/** The request as the runtime reads it: absolute paths, auto as null, GiB as bytes. */
export function sweepSpec(request: TrialsRequestParsed): SweepSpec {
  return {
    data: resolve(request.data),
    target: isNpyPath(request.target) ? resolve(request.target) : request.target,
    task: request.task === 'auto' ? null : request.task,
    trials: request.trials,
    concurrency: request.concurrency === 'auto' ? null : request.concurrency,
    epochs: request.epochs,
    patience: request.patience,
    folds: request.folds,
    valFraction: request.valFraction,
    families: request.families,
    space: request.space,
    spaceSource: request.spaceSource,
    sampler: request.sampler,
    seed: request.seed,
    device: request.device,
    engine: request.engine === 'auto' ? null : request.engine,
    vramLimit: request.vramLimitGiB === null ? null : Math.round(request.vramLimitGiB * GIB),
    targetMemory: request.targetMemory,
    treeWorkers: request.treeWorkers === 'auto' ? null : request.treeWorkers,
  };
}

/** A file's size and sha256, read without blocking (a FIFO or a folder is refused, naming it). */
async function identify(path: string): Promise<FileIdentity> {
  const input = await openInput(path);
  try {
    const digest: { sha256?: string; bytes?: number } = {};
    for await (const chunk of inputChunks(path, input, digest)) void chunk;
    return { path, bytes: digest.bytes!, sha256: digest.sha256! };
  } finally {
    await input.handle.close();
  }
}

const CREATION_TEMPORARY = /^run\.json\.tmp-(\d+)$/;

const processGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

/** A `headroom trials` killed while it wrote run.json leaves only run.json.tmp-<pid>: of a process that is gone, it is no run. */
function creationDebris(runDir: string): string[] {
  return readdirSync(runDir).filter((name) => {
    const pid = CREATION_TEMPORARY.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && processGone(Number(pid)) && lstatSync(join(runDir, name)).isFile();
  });
}

function refuseUsedFolder(runDir: string, given: string): void {
  if (existsSync(runPaths(runDir).manifest)) throw new HeadroomError('usage', `${runDir} already holds a run: continue it with \`headroom resume ${given}\` or choose another --out`);
  if (existsSync(runDir) && (!lstatSync(runDir).isDirectory() || readdirSync(runDir).length > creationDebris(runDir).length)) {
    throw new HeadroomError('usage', `${runDir} exists and is not an empty folder; choose a new or empty folder for --out`);
  }
}

/** Checks everything (the request, the folder, the data, target and space by the runtime), then writes run.json and the journal; nothing is created when anything is wrong. */
export async function createTrialsRun(requestArg: unknown, outDir: string, runtime: RuntimeOptions = {}): Promise<string> {
  const parsed = TrialsRequest.safeParse(requestArg);
  if (!parsed.success) throw new HeadroomError('usage', `invalid sweep request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  const request = parsed.data;
  const spec = sweepSpec(request);
  const runDir = resolve(outDir);
  refuseMaskedFields({ spec, runDir, name: request.name });
  refuseUsedFolder(runDir, outDir);
  const checked = await askRuntime({ type: 'trials_check', spec }, 'trials_checked', runtime);
  const files = await Promise.all([spec.data, ...(isNpyPath(spec.target) ? [spec.target] : [])].map(identify));
  refuseUsedFolder(runDir, outDir); // the check took a while: the folder may have been taken meanwhile
  const created = !existsSync(runDir);
  mkdirSync(runDir, { recursive: true });
  try {
    for (const name of creationDebris(runDir)) rmSync(join(runDir, name), { force: true });
    const manifest: RunManifest = {
      format: RUN_FORMAT,
      kind: TRIALS_KIND,
      createdAt: new Date().toISOString(),
      ...(request.name === undefined ? {} : { name: request.name }),
      spec: { ...spec, task: checked.task, space: checked.spaces },
      checked: { rows: checked.rows, features: checked.features, metric: checked.metric },
      files,
      request: { engine: request.engine, concurrency: request.concurrency },
      versions: { headroom: HEADROOM_VERSION, node: process.versions.node },
    };
    writeManifest(runDir, manifest);
    const journal = Journal.open(runPaths(runDir).journal, JournalRecord);
    try {
      journal.append({ type: 'run_created' });
    } finally {
      journal.close();
    }
  } catch (error) {
    if (created) rmSync(runDir, { recursive: true, force: true });
    else for (const name of readdirSync(runDir)) rmSync(join(runDir, name), { recursive: true, force: true });
    throw error;
  }
  return runDir;
}

/** The data must be the bytes the run was created from: another file would make another sweep. */
async function checkFiles(manifest: RunManifest): Promise<void> {
  for (const expected of manifest.files) {
    let found: FileIdentity;
    try {
      found = await identify(expected.path);
    } catch (error) {
      throw new HeadroomError('bad_input', `${asHeadroomError(error).message}; this run was created from it: restore it, or start a new run`);
    }
    if (found.sha256 !== expected.sha256) {
      throw new HeadroomError(
        'bad_input',
        `${expected.path} changed since the run was created (${expected.bytes} bytes, sha256 ${expected.sha256.slice(0, 12)} then; ${found.bytes} bytes, ${found.sha256.slice(0, 12)} now): restore it, or start a new run`,
      );
    }
  }
}

const TRIALS_TEMPORARY = /^trials\.jsonl\.tmp-\d+$/;

/** trials.jsonl as the journal says it is: rewritten whole (tmp + rename) unless it already is. */
function writeTrialsFile(path: string, results: readonly TrialResult[]): void {
  const text = results.map((result) => `${JSON.stringify(result)}\n`).join('');
  let now: string | undefined;
  try {
    now = lstatSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    now = undefined;
  }
  if (now !== text) {
    if (existsSync(path) && !lstatSync(path).isFile()) rmSync(path, { recursive: true, force: true });
    writeFileAtomic(path, text);
  }
}

export async function executeTrialsRun(runDirArg: string, options: ExecuteOptions<TrialsSettings, TrialsEvent>): Promise<TrialsSummary> {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  checkWritable(runDir);
  const lock = acquireLock(paths.lock, runDir);
  const started = performance.now();
  let journal: TrialsJournal | undefined;
  try {
    journal = Journal.open(paths.journal, JournalRecord);
    const leftovers = [...removeDebris(runDir, { completedWithoutChunks: false })];
    for (const name of readdirSync(runDir).filter((entry) => TRIALS_TEMPORARY.test(entry))) {
      rmSync(join(runDir, name), { force: true });
      leftovers.push(name);
    }
    if (leftovers.length > 0) options.report?.({ kind: 'log', line: `removed what a crash left: ${leftovers.join(', ')}` });
    const before = replay(journal.records, false);
    writeTrialsFile(paths.trials, finishedTrials(journal.records));
    if (before.completed) return summarize(runDir, manifest, journal, started, 0);
    await checkFiles(manifest);
    const finished = finishedTrials(journal.records);
    journal.append({ type: 'session_started', pid: process.pid, command: options.command === 'start' ? 'trials' : 'resume', finished: finished.length, complete: before.complete });
    options.report?.({
      kind: 'started',
      runDir,
      trialsTotal: manifest.spec.trials * manifest.spec.families.length,
      trialsDone: before.complete,
      task: manifest.spec.task,
      metric: manifest.checked.metric,
      families: manifest.spec.families,
      best: before.best && before.best.value !== null ? { family: before.best.family, number: before.best.number, value: before.best.value } : null,
      doneByFamily: Object.fromEntries(before.completeBy),
    });
    await runSweepSession({
      runDir,
      spec: manifest.spec,
      journal,
      finished,
      trialsFile: paths.trials,
      control: options.control,
      signal: options.signal,
      report: options.report ?? (() => undefined),
      python: options.python,
      env: runEnv(runDir, options.env), // HEADROOM_RUN_ID: the GPU monitor maps its runtimes to this run
    });
    const after = replay(journal.records, true);
    journal.append({ type: 'run_completed', complete: after.complete });
    return summarize(runDir, manifest, journal, started, after.trials.size - finished.length);
  } catch (error) {
    const failure = asHeadroomError(error, runDir);
    journalFailure(journal, failure);
    throw failure;
  } finally {
    journal?.close();
    lock.release();
  }
}

function summarize(runDir: string, manifest: RunManifest, journal: TrialsJournal, started: number, finishedThisSession: number): TrialsSummary {
  const state = replay(journal.records, true);
  const best = state.best;
  return {
    runDir,
    status: 'done',
    trials: state.complete,
    task: manifest.spec.task,
    metric: manifest.checked.metric,
    best: best && best.value !== null ? { family: best.family, number: best.number, value: best.value, params: best.params } : null,
    families: familySummaries(journal.records, manifest.spec.families, manifest.spec.trials),
    finishedThisSession,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    trialsFile: runPaths(runDir).trials,
    study: runPaths(runDir).study,
  };
}
