/**
 * An embed run from start to finish: plan chunks, hand them to a runtime, journal
 * each finished chunk, validate everything on resume, assemble the outputs.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assembleOutputs, idsText, refuseNonFileOutputs } from './chunks/assemble.js';
import { checkChunk, recordMismatch, sha256 } from './chunks/chunkCheck.js';
import { checkOutputs, type OutputProblem } from './chunks/outputCheck.js';
import { planChunks } from './chunks/planner.js';
import type { EnsembleMode, OomPolicy } from '../../contract/protocol.js';
import { readCorpus, type Corpus } from '../../corpus/readCorpus.js';
import { asHeadroomError, HeadroomError } from '../../errors.js';
import { Journal } from '../../runs/journal.js';
import { journalFailure } from '../../runs/lifecycle.js';
import { writeFileAtomic } from '../../runs/atomicFile.js';
import { acquireLock } from '../../runs/lock.js';
import { refuseMaskedFields } from '../../runs/storable.js';
import { checkWritable, removeDebris } from '../../runs/debris.js';
import { killPoint } from '../../faults.js';
import { chunkFile, EmbedSpec, readManifest, RUN_FORMAT, runPaths, writeManifest, type RunManifest } from './manifest.js';
import { JournalRecord, type ChunkRecord, type EmbedJournal } from './records.js';
import { chunkKey, replay, settingsInForce } from './runState.js';
import { HEADROOM_VERSION } from '../../version.js';
import { encodePending, type Unit } from './encodeSession.js';
import type { RuntimeOptions } from './modelIdentity.js';
import { checkEmbedRequest } from './requestCheck.js';
import type { MemoryFigures, Progress } from './progress.js';
import type { EmbedSettings } from '../../contract/jobs/embed.js';
import type { ExecuteOptions as JobExecuteOptions } from '../job.js';
import { runEnv } from '../../supervisor/runtimeProcess.js';

export type { Progress } from './progress.js';

/** The spec, and the name the user gave the run (run.json's header keeps it). */
export type EmbedOptions = EmbedSpec & { name?: string };

export interface PassFigures {
  model: string;
  device: string;
  ms: number;
  rows: number;
  peak: number | null;
  residentPeak: number;
}

export interface RunSummary {
  runDir: string;
  status: 'done';
  rows: number;
  dim: number;
  chunks: number;
  models: { key: string; model: string; weight: number; dim: number }[];
  ensembleMode: EnsembleMode;
  aggregate: EmbedSpec['aggregate'];
  device: string | undefined;
  /** Documents longer than the model's max length (cut there, as sentence-transformers does). */
  truncated: number;
  /** Documents that did not fit in memory alone: cut further by `--oom-policy truncate`, or encoded on the CPU by `cpu`. */
  cutToFit: number;
  onCpu: number;
  sha256: string;
  chunksKept: boolean;
  /** Over all sessions of the run: */
  batches: number;
  ooms: number;
  meanBudget: number;
  finalBudget: number;
  /** Real tokens / padded tokens. */
  paddingEfficiency: number;
  /** This session's figures (zero work when the run was already done). */
  seconds: number;
  rowsEncoded: number;
  docsPerSecond: number;
  tokensPerSecond: number;
  /** Runtime memory in bytes (GPU allocated, or process RSS on CPU): first sample, peak, last; resident model bytes. */
  memory: MemoryFigures;
  /** This session's passes, in the order they finished. */
  passes: PassFigures[];
}

export type ExecuteOptions = JobExecuteOptions<EmbedSettings, Progress>;

/** Validates the input and every model (requestCheck.ts), then writes run.json; nothing is created when anything is wrong. */
export async function createEmbedRun(input: string, outDir: string, options: EmbedOptions, runtime: RuntimeOptions = {}): Promise<string> {
  const checked = EmbedSpec.safeParse(options);
  if (!checked.success) throw new HeadroomError('usage', `invalid run spec: ${checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  if (new Set(options.models.map((entry) => entry.key)).size !== options.models.length) {
    throw new HeadroomError('usage', 'two models of the ensemble share a key');
  }
  const inputPath = resolve(input);
  refuseMaskedFields({ input: { path: inputPath }, spec: checked.data }); // run.json must hold what the run uses: runs/storable.ts
  // The input checked, counted and hashed (its texts are read again by the run), and every model resolved and fingerprinted.
  const { corpus, models } = await checkEmbedRequest(inputPath, checked.data, options.name, runtime);
  refuseMaskedFields({ models });
  const runDir = resolve(outDir);
  refuseMaskedFields({ runDir }); // every message and hint names the folder masked: it must be one that exists
  const paths = runPaths(runDir);
  if (existsSync(paths.manifest)) {
    throw new HeadroomError('usage', `${runDir} already holds a run: continue it with \`headroom resume ${outDir}\` or choose another --out`);
  }
  if (existsSync(runDir) && readdirSync(runDir).length > 0) {
    throw new HeadroomError('usage', `${runDir} exists and is not empty; choose a new or empty folder for --out`);
  }
  mkdirSync(runDir, { recursive: true });
  const manifest: RunManifest = {
    format: RUN_FORMAT,
    kind: 'embed',
    createdAt: new Date().toISOString(),
    ...(options.name === undefined ? {} : { name: options.name }),
    input: { path: inputPath, ...corpus.input, rows: corpus.ids.length },
    spec: checked.data,
    models,
    chunks: planChunks(corpus.ids.length, options.chunkSize).length,
    versions: { headroom: HEADROOM_VERSION, node: process.versions.node },
  };
  writeManifest(runDir, manifest);
  const journal = Journal.open(paths.journal, JournalRecord);
  journal.append({ type: 'run_created' });
  journal.close();
  return runDir;
}

/** Reads the input again, refused unless it is byte for byte the one the run was created from. */
function loadInput(manifest: RunManifest): Promise<Corpus> {
  const { path, sha256, bytes } = manifest.input;
  return readCorpus(path, manifest.spec, { expect: { sha256, bytes } });
}

export async function executeRun(runDirArg: string, options: ExecuteOptions): Promise<RunSummary> {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  checkWritable(runDir);
  const lock = acquireLock(paths.lock, runDir);
  let journal: EmbedJournal | undefined;
  const started = performance.now();
  try {
    journal = Journal.open(paths.journal, JournalRecord);
    const state = replay(journal.records, false);
    const noWork: MemoryFigures = { start: null, peak: null, end: null, resident: null };
    // A done run is done only while its outputs are the ones its journal describes.
    const outputs = state.completed ? checkOutputs(runDir, state.completed) : [];
    // A crash's leftovers go now that this process owns the run (runs/debris.ts).
    const leftovers = removeDebris(runDir, { completedWithoutChunks: state.completed !== undefined && outputs.length === 0 && !manifest.spec.keepChunks });
    if (leftovers.length > 0) options.report?.({ kind: 'log', line: `removed what a crash left: ${leftovers.join(', ')}` });
    if (state.completed && outputs.length === 0) return summarize(runDir, manifest, journal, started, 0, noWork);
    const corpus = await loadInput(manifest);
    if (state.completed && repairIds(runDir, journal, state.completed, outputs, corpus.ids, options.command)) {
      return summarize(runDir, manifest, journal, started, 0, noWork);
    }
    const plan = planChunks(corpus.ids.length, manifest.spec.chunkSize);
    const { spec } = manifest;
    const dims = journaledDims(journal.records);
    const done = new Map<string, ChunkRecord>();
    const recomputing: { model: string; index: number; reason: string }[] = [];
    const pending: Unit[] = [];
    for (const chunk of plan) {
      for (const entry of spec.models) {
        const key = chunkKey(entry.key, chunk.index);
        const record = state.chunks.get(key);
        // A record is trusted only for the unit it names: its file, rows and dim (a swapped or edited record is redone).
        const mismatch = record ? recordMismatch(record, { model: entry.key, index: chunk.index, rows: chunk.end - chunk.start, dim: dims.get(entry.key) }) : undefined;
        const verdict = record && mismatch === undefined ? checkChunk(runDir, record) : undefined;
        if (record && verdict?.ok) {
          done.set(key, record);
          continue;
        }
        pending.push({ entry, chunk });
        if (mismatch !== undefined) recomputing.push({ model: entry.key, index: chunk.index, reason: `journal record not trusted: ${mismatch}` });
        else if (verdict && !verdict.ok) recomputing.push({ model: entry.key, index: chunk.index, reason: verdict.reason });
        else if (existsSync(join(runDir, chunkFile(entry.key, chunk.index)))) recomputing.push({ model: entry.key, index: chunk.index, reason: 'file not in the journal' });
      }
    }
    const ignored = untrackedRecords(state.chunks.values(), spec, plan.length);
    journal.append({ type: 'session_started', pid: process.pid, command: sessionCommand(options.command), pending: pending.length, recomputing, ...(outputs.length > 0 ? { outputs } : {}), ...(ignored.length > 0 ? { ignored } : {}) });
    const settings = effectiveSettings(journal, spec, options.settings ?? {});
    const unitsTotal = plan.length * spec.models.length;
    options.report?.({
      kind: 'started',
      runDir,
      chunksTotal: unitsTotal,
      chunksDone: done.size,
      rowsTotal: corpus.ids.length,
      recomputing: recomputing.length,
      models: spec.models.map((entry) => entry.key),
      ensembleMode: settings.ensembleMode,
    });
    const memory: MemoryFigures = { start: null, peak: null, end: null, resident: null };
    if (pending.length > 0) {
      await encodePending(
        {
          runDir,
          spec,
          identities: manifest.models,
          corpus,
          journal,
          done,
          unitsTotal,
          ...settings,
          control: options.control,
          report: options.report ?? (() => undefined),
          signal: options.signal,
          python: options.python,
          env: runEnv(runDir, options.env), // HEADROOM_RUN_ID: the GPU monitor maps its runtimes to this run
          memory,
        },
        pending,
      );
    }
    const ordered = plan.map((chunk) => spec.models.map((entry) => done.get(chunkKey(entry.key, chunk.index))!));
    const output = assembleOutputs(runDir, ordered, corpus.ids, spec);
    journal.append({
      type: 'run_completed',
      rows: output.rows,
      dim: output.dim,
      sha256: output.sha256,
      ids: output.ids,
      truncated: ordered.flat().reduce((sum, unit) => sum + unit.truncated, 0),
      chunksKept: spec.keepChunks,
    });
    killPoint('completed');
    if (!spec.keepChunks) rmSync(paths.chunks, { recursive: true, force: true });
    const rowsEncoded = pending.reduce((sum, unit) => sum + unit.chunk.end - unit.chunk.start, 0);
    return summarize(runDir, manifest, journal, started, rowsEncoded, memory);
  } catch (error) {
    const failure = asHeadroomError(error, runDir);
    journalFailure(journal, failure);
    throw failure;
  } finally {
    journal?.close();
    lock.release();
  }
}

/** The journal's name for a session: the first one is the CLI's `embed`. */
const sessionCommand = (command: ExecuteOptions['command']): 'embed' | 'resume' => (command === 'start' ? 'embed' : 'resume');

/** Records that name no unit of the plan (another model, an index past the end): never used, journaled. */
function untrackedRecords(records: Iterable<ChunkRecord>, spec: EmbedSpec, chunks: number): { model: string; index: number; reason: string }[] {
  const keys = new Set(spec.models.map((entry) => entry.key));
  return [...records].flatMap((record) => {
    if (!keys.has(record.model)) return [{ model: record.model, index: record.index, reason: 'model not in the spec' }];
    if (record.index >= chunks) return [{ model: record.model, index: record.index, reason: `index outside the plan (${chunks} chunks)` }];
    return [];
  });
}

/** Each model's dimension as its passes reported it (the latest pass wins). */
function journaledDims(records: readonly JournalRecord[]): Map<string, number> {
  return new Map(records.flatMap((record) => (record.type === 'pass_started' ? [[record.model, record.dim] as const] : [])));
}

/**
 * A done run whose only damaged output is ids.txt: it is rewritten from the
 * (verified) input, nothing is recomputed. False when embeddings.npy is damaged too.
 */
function repairIds(runDir: string, journal: EmbedJournal, completed: Extract<JournalRecord, { type: 'run_completed' }>, outputs: OutputProblem[], ids: string[], command: ExecuteOptions['command']): boolean {
  const text = idsText(ids);
  if (!outputs.every((problem) => problem.file === 'ids.txt') || sha256(Buffer.from(text, 'utf8')) !== completed.ids.sha256) return false;
  refuseNonFileOutputs(runDir, [runPaths(runDir).ids]);
  journal.append({ type: 'session_started', pid: process.pid, command: sessionCommand(command), pending: 0, recomputing: [], outputs });
  writeFileAtomic(runPaths(runDir).ids, text);
  const { at, ...again } = completed;
  void at; // a new completion, same outputs
  journal.append(again);
  return true;
}

/** The OOM policy and ensemble mode in force: the latest changes journaled, then this session's own. */
function effectiveSettings(journal: EmbedJournal, spec: EmbedSpec, requested: EmbedSettings): { oomPolicy: OomPolicy; ensembleMode: EnsembleMode } {
  let { oomPolicy, ensembleMode } = settingsInForce(journal.records, spec);
  if (requested.oom !== undefined && requested.oom !== oomPolicy) {
    oomPolicy = requested.oom;
    journal.append({ type: 'policy_changed', oomPolicy });
  }
  if (requested.ensembleMode !== undefined && requested.ensembleMode !== ensembleMode) {
    ensembleMode = requested.ensembleMode;
    journal.append({ type: 'mode_changed', ensembleMode });
  }
  return { oomPolicy, ensembleMode };
}

function summarize(runDir: string, manifest: RunManifest, journal: EmbedJournal, started: number, rowsEncoded: number, memory: MemoryFigures): RunSummary {
  const state = replay(journal.records, true);
  const completed = state.completed;
  if (!completed) throw new HeadroomError('internal', `run ${runDir} has no completion record`);
  const lastSession = journal.records.map((record) => record.type).lastIndexOf('session_started');
  const session = journal.records.slice(lastSession);
  const passStarts = journal.records.filter((record) => record.type === 'pass_started');
  const settings = effectiveSettings(journal, manifest.spec, {});
  const dims = new Map(passStarts.map((record) => [record.model, record.dim]));
  const seconds = (performance.now() - started) / 1000;
  const keys = new Set(manifest.spec.models.map((entry) => entry.key));
  const chunks = [...state.chunks.values()].filter((chunk) => keys.has(chunk.model) && chunk.index < manifest.chunks).sort((a, b) => a.index - b.index);
  const sum = (pick: (chunk: ChunkRecord) => number): number => chunks.reduce((total, chunk) => total + pick(chunk), 0);
  const sessionTokens = session.reduce((total, record) => total + (record.type === 'chunk_done' ? record.stats.realTokens : 0), 0);
  return {
    runDir,
    status: 'done',
    rows: completed.rows,
    dim: completed.dim,
    chunks: manifest.chunks,
    models: manifest.spec.models.map((entry) => ({ key: entry.key, model: entry.model, weight: entry.weight, dim: dims.get(entry.key) ?? 0 })),
    ensembleMode: settings.ensembleMode,
    aggregate: manifest.spec.aggregate,
    device: passStarts.at(-1)?.device,
    truncated: completed.truncated,
    cutToFit: sum((c) => c.stats.oomTruncated),
    onCpu: sum((c) => c.stats.cpuFallbacks),
    sha256: completed.sha256,
    chunksKept: completed.chunksKept,
    batches: sum((c) => c.stats.batches),
    ooms: sum((c) => c.stats.ooms),
    meanBudget: chunks.length ? Math.round(sum((c) => c.stats.budget) / chunks.length) : 0,
    finalBudget: chunks.at(-1)?.stats.budget ?? 0,
    paddingEfficiency: Number((sum((c) => c.stats.realTokens) / Math.max(1, sum((c) => c.stats.paddedTokens))).toFixed(4)),
    seconds: Number(seconds.toFixed(3)),
    rowsEncoded,
    docsPerSecond: seconds > 0 ? Number((rowsEncoded / seconds).toPrecision(3)) : 0,
    tokensPerSecond: seconds > 0 && rowsEncoded > 0 ? Number((sessionTokens / seconds).toPrecision(3)) : 0,
    memory,
    passes: session.flatMap((record) =>
      record.type === 'pass_completed' ? [{ model: record.model, device: record.device, ms: record.ms, rows: record.rows, peak: record.peak, residentPeak: record.residentPeak }] : [],
    ),
  };
}
