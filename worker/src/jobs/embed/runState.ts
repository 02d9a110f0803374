/** A run's state is the replay of its journal plus who holds its lock. */
import type { EnsembleMode, OomPolicy } from '../../contract/protocol.js';
import { replayLifecycle, type RunStatus } from '../../runs/lifecycle.js';
import type { ChunkRecord, JournalRecord } from './records.js';

export type { RunStatus } from '../../runs/lifecycle.js';

export interface RunState {
  status: RunStatus;
  /** Latest record per (model, chunk index); whether the file still matches is checked separately. */
  chunks: Map<string, ChunkRecord>;
  errors: string[];
  lastInterruption: string | null;
  completed: Extract<JournalRecord, { type: 'run_completed' }> | undefined;
}

export const chunkKey = (model: string, index: number): string => `${model}/${index}`;

/** The lifecycle (runs/lifecycle.ts), plus the latest record of each chunk and the completion in force. */
export function replay(records: readonly JournalRecord[], ownerAlive: boolean): RunState {
  const { status, errors, lastInterruption } = replayLifecycle(records, ownerAlive);
  const chunks = new Map<string, ChunkRecord>();
  let completed: RunState['completed'];
  for (const record of records) {
    if (record.type === 'chunk_done') chunks.set(chunkKey(record.model, record.index), record);
    else if (record.type === 'session_started') completed = undefined;
    else if (record.type === 'run_completed') completed = record;
  }
  return { status, chunks, errors, lastInterruption, completed };
}

/** The OOM policy and ensemble mode in force: the spec's, then the latest changes journaled. */
export function settingsInForce(records: readonly JournalRecord[], spec: { oomPolicy: OomPolicy; ensembleMode: EnsembleMode }): { oomPolicy: OomPolicy; ensembleMode: EnsembleMode } {
  let { oomPolicy, ensembleMode } = spec;
  for (const record of records) {
    if (record.type === 'policy_changed') oomPolicy = record.oomPolicy;
    if (record.type === 'mode_changed') ensembleMode = record.ensembleMode;
  }
  return { oomPolicy, ensembleMode };
}
