/** What `headroom status` reports of an embed run: read-only, safe while another process owns the run. */
import { resolve } from 'node:path';
import { checkOutputs, describeProblems } from './chunks/outputCheck.js';
import { readJournal } from '../../runs/journal.js';
import { JournalRecord } from './records.js';
import { liveOwner } from '../../runs/lock.js';
import { readManifest, runPaths, type RunManifest } from './manifest.js';
import { replay, settingsInForce } from './runState.js';
import { EMBED_KIND, type EmbedWorkerInfo } from '../../contract/jobs/embed.js';
import { workersFromJournal } from './workerInfo.js';
import { leakLine, vramLevelLine, type GuardIncident } from './words.js';
import type { EnsembleMode } from '../../contract/protocol.js';
import type { StatusBase } from '../job.js';
import { runFacts, type RunFacts } from './runFacts.js';

/** The journal's facts (runFacts.ts): phase and progress words, time worked, rates, settings in force, summary, failure. */
export interface StatusReport extends Omit<StatusBase, keyof RunFacts>, RunFacts {
  kind: typeof EMBED_KIND;
  /** Each model as `name (weight w, device)`; modelNames: the names alone. */
  models: string[];
  modelNames: string[];
  ensembleMode: EnsembleMode;
  input: string;
  rowsDone: number;
  rowsTotal: number;
  /** Documents longer than the model's max length, cut there. */
  truncated: number;
  /** Documents that did not fit in memory alone: cut further by `--oom-policy truncate`, encoded on the CPU by `cpu`. */
  cutToFit: number;
  onCpu: number;
  /** Runtimes killed as hung (silent past the heartbeat timeout) and replaced. */
  hangs: number;
  /** Each worker of a run with --workers (workerInfo.ts); null without. */
  workers: EmbedWorkerInfo[] | null;
  /** What the VRAM guard and the leak detector did (journal: vram_level, leak_warning, worker_recycled), oldest first. */
  guard: GuardIncident[];
  embeddingsSha256: string | null;
}

/** The guard's and the leak detector's records in the CLI's words; models by name, a worker named only with --workers. */
function guardIncidents(records: readonly JournalRecord[], manifest: RunManifest): GuardIncident[] {
  const names = new Map(manifest.spec.models.map((entry) => [entry.key, entry.model]));
  const named = <T extends { model: string }>(record: T): T => ({ ...record, model: names.get(record.model) ?? record.model });
  const worker = (record: { worker?: string }): string | null => (manifest.spec.workers === null ? null : (record.worker ?? null));
  return records.flatMap((record): GuardIncident[] => {
    if (record.type === 'vram_level') return [{ at: record.at, kind: record.level, worker: worker(record), words: vramLevelLine(named(record)) }];
    if (record.type === 'leak_warning') return [{ at: record.at, kind: 'leak', worker: worker(record), words: leakLine(named(record)) }];
    if (record.type === 'worker_recycled') return [{ at: record.at, kind: 'recycle', worker: worker(record), words: `a fresh runtime took over: ${record.reason}` }];
    return [];
  });
}

export function runStatus(runDirArg: string): StatusReport {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  const { records } = readJournal(paths.journal, JournalRecord);
  const owner = liveOwner(paths.lock);
  const state = replay(records, owner !== undefined);
  // Done means its outputs are still the ones the journal describes; otherwise resume rebuilds them.
  const damaged = state.completed ? checkOutputs(runDir, state.completed) : [];
  if (damaged.length > 0) {
    state.status = 'interrupted';
    state.errors.push(`the outputs do not match the journal (${describeProblems(damaged)}): \`headroom resume ${runDirArg}\` rebuilds them`);
  }
  const keys = new Set(manifest.spec.models.map((entry) => entry.key));
  const chunks = [...state.chunks.values()].filter((chunk) => keys.has(chunk.model));
  const units = manifest.chunks * keys.size;
  const { ensembleMode } = settingsInForce(records, manifest.spec);
  return {
    ...runFacts(runDir, manifest, records, state, chunks),
    runDir,
    kind: EMBED_KIND,
    status: state.status,
    modelNames: manifest.spec.models.map((entry) => entry.model),
    models: manifest.spec.models.map((entry) => `${entry.model} (weight ${Number(entry.weight.toFixed(4))}, ${entry.device})`),
    ensembleMode,
    input: manifest.input.path,
    unitsDone: state.completed ? units : chunks.length,
    unitsTotal: units,
    rowsDone: state.completed ? state.completed.rows * keys.size : chunks.reduce((sum, chunk) => sum + chunk.rows, 0),
    rowsTotal: manifest.input.rows * keys.size,
    truncated: chunks.reduce((sum, chunk) => sum + chunk.truncated, 0),
    cutToFit: chunks.reduce((sum, chunk) => sum + chunk.stats.oomTruncated, 0),
    onCpu: chunks.reduce((sum, chunk) => sum + chunk.stats.cpuFallbacks, 0),
    hangs: records.filter((record) => record.type === 'worker_hung').length,
    workers: workersFromJournal(manifest.spec.workers, records, { completed: state.completed !== undefined, live: state.status === 'running' }),
    guard: guardIncidents(records, manifest),
    owner: owner ?? null,
    errors: state.errors,
    lastInterruption: state.lastInterruption,
    embeddingsSha256: state.completed?.sha256 ?? null,
    device: records.findLast((record): record is Extract<typeof record, { type: 'pass_started' }> => record.type === 'pass_started')?.device ?? null,
  };
}
