/** What `headroom status` reports: read-only, safe while another process owns the run. */
import { resolve } from 'node:path';
import { readJournal } from '../runs/journal.js';
import { liveOwner } from '../runs/lock.js';
import { readManifest, runPaths } from '../runs/manifest.js';
import { replay, settingsInForce, type RunStatus } from '../runs/runState.js';

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
  truncated: number;
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
    owner: owner ?? null,
    errors: state.errors,
    lastInterruption: interruption?.type === 'run_interrupted' ? interruption.reason : null,
    embeddingsSha256: state.completed?.sha256 ?? null,
    device: records.findLast((record): record is Extract<typeof record, { type: 'pass_started' }> => record.type === 'pass_started')?.device ?? null,
  };
}
