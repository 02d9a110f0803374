import type { EnsembleMode } from '../../contract/protocol.js';

/** What an Engine run reports while it works (the CLI draws it; the panel will chart it). */
export interface MemoryFigures {
  start: number | null;
  peak: number | null;
  end: number | null;
  /** Most bytes of model parameters and buffers resident at once (any device). */
  resident: number | null;
}

export type Progress =
  | {
      kind: 'started';
      runDir: string;
      /** Units of work: (model, chunk) pairs. */
      chunksTotal: number;
      chunksDone: number;
      rowsTotal: number;
      recomputing: number;
      models: string[];
      ensembleMode: EnsembleMode;
    }
  | { kind: 'worker'; pid: number; torch: string; cuda: boolean }
  | {
      kind: 'pass';
      phase: 'started';
      model: string;
      device: string;
      dim: number;
      source: string;
      loaded: boolean;
      ms: number;
      budgetSource: string;
      initialBudget: number | null;
      resident: number;
    }
  | { kind: 'pass'; phase: 'completed'; model: string; device: string; ms: number; rows: number; peak: number | null; residentPeak: number; released: boolean }
  | { kind: 'mode'; ensembleMode: EnsembleMode }
  | { kind: 'paused' }
  | { kind: 'resumed' }
  | { kind: 'chunk'; model: string; index: number; chunksDone: number; chunksTotal: number; rowsDone: number; rowsTotal: number; ms: number; budget: number }
  | { kind: 'batch'; docs: number; tokens: number; padded: number; ms: number; peak: number | null }
  | { kind: 'memory'; allocated: number | null; reserved: number | null; free: number | null; total: number | null; peak: number | null }
  | { kind: 'oom'; model: string; chunk: number; docs: number; tokens: number; budget: number; action: string }
  /** A worker killed as hung (silent past the heartbeat timeout); a fresh one redoes its unit unless giveUp. */
  | { kind: 'worker_hung'; pid: number; silentS: number; timeoutS: number; model: string | null; chunk: number | null; inARow: number; giveUp: boolean }
  | { kind: 'log'; line: string };
