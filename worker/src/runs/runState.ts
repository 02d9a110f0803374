/** A run's state is the replay of its journal plus who holds its lock. */
import type { EnsembleMode, OomPolicy } from '../contract/protocol.js';
import type { ChunkRecord, JournalRecord } from './records.js';

export type RunStatus = 'created' | 'running' | 'interrupted' | 'failed' | 'done';

export interface RunState {
  status: RunStatus;
  /** Latest record per (model, chunk index); whether the file still matches is checked separately. */
  chunks: Map<string, ChunkRecord>;
  errors: string[];
  completed: Extract<JournalRecord, { type: 'run_completed' }> | undefined;
}

export const chunkKey = (model: string, index: number): string => `${model}/${index}`;

export function replay(records: readonly JournalRecord[], ownerAlive: boolean): RunState {
  const chunks = new Map<string, ChunkRecord>();
  const errors: string[] = [];
  let status: RunStatus = 'created';
  let completed: RunState['completed'];
  for (const record of records) {
    switch (record.type) {
      case 'session_started':
        status = 'running';
        completed = undefined;
        break;
      case 'chunk_done':
        chunks.set(chunkKey(record.model, record.index), record);
        break;
      case 'run_interrupted':
        status = 'interrupted';
        break;
      case 'run_failed':
        status = 'failed';
        errors.push(record.message);
        break;
      case 'run_completed':
        status = 'done';
        completed = record;
        break;
      default:
        break;
    }
  }
  // A session that ended without a word (kill -9, power loss) was interrupted.
  if (status === 'running' && !ownerAlive) status = 'interrupted';
  return { status, chunks, errors, completed };
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
