/** What `headroom status` reports: read-only, safe while another process owns the run. */
import { resolve } from 'node:path';
import { checkOutputs, describeProblems } from './chunks/outputCheck.js';
import { readJournal } from '../../runs/journal.js';
import { liveOwner } from '../../runs/lock.js';
import { readManifest, runPaths } from '../../runs/manifest.js';
import { replay, settingsInForce, type RunStatus } from '../../runs/runState.js';

export interface StatusReport {
  runDir: string;
  status: RunStatus;
  models: string[];
  ensembleMode: string;
  input: string;
  chunksDone: number;
  chunksTotal: number;
  rowsDone: number;
  rowsTotal: number;
  /** Documents longer than the model's max length, cut there. */
  truncated: number;
  /** Documents that did not fit in memory alone: cut further by `--oom-policy truncate`, encoded on the CPU by `cpu`. */
  cutToFit: number;
  onCpu: number;
  /** Workers killed as hung (silent past the heartbeat timeout) and replaced. */
  hangs: number;
  owner: number | null;
  errors: string[];
  lastInterruption: string | null;
  embeddingsSha256: string | null;
  /** Where the last pass ran. */
  device: string | null;
}

export function runStatus(runDirArg: string): StatusReport {
  const runDir = resolve(runDirArg);
  const manifest = readManifest(runDir);
  const paths = runPaths(runDir);
  const { records } = readJournal(paths.journal);
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
  const interruption = records.filter((record) => record.type === 'run_interrupted').at(-1);
  return {
    runDir,
    status: state.status,
    models: manifest.spec.models.map((entry) => `${entry.model} (weight ${Number(entry.weight.toFixed(4))}, ${entry.device})`),
    ensembleMode,
    input: manifest.input.path,
    chunksDone: state.completed ? units : chunks.length,
    chunksTotal: units,
    rowsDone: state.completed ? state.completed.rows * keys.size : chunks.reduce((sum, chunk) => sum + chunk.rows, 0),
    rowsTotal: manifest.input.rows * keys.size,
    truncated: chunks.reduce((sum, chunk) => sum + chunk.truncated, 0),
    cutToFit: chunks.reduce((sum, chunk) => sum + chunk.stats.oomTruncated, 0),
    onCpu: chunks.reduce((sum, chunk) => sum + chunk.stats.cpuFallbacks, 0),
    hangs: records.filter((record) => record.type === 'worker_hung').length,
    owner: owner ?? null,
    errors: state.errors,
    lastInterruption: interruption?.type === 'run_interrupted' ? interruption.reason : null,
    embeddingsSha256: state.completed?.sha256 ?? null,
    device: records.findLast((record): record is Extract<typeof record, { type: 'pass_started' }> => record.type === 'pass_started')?.device ?? null,
  };
}
