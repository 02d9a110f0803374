/** What an Engine run reports while it works (the CLI draws it; the panel will chart it). */
export interface MemoryFigures {
  start: number | null;
  peak: number | null;
  end: number | null;
}

export type Progress =
  | { kind: 'started'; runDir: string; chunksTotal: number; chunksDone: number; rowsTotal: number; recomputing: number }
  | { kind: 'worker'; pid: number; torch: string; cuda: boolean }
  | { kind: 'model'; model: string; device: string; dim: number; source: string; ms: number; budgetSource: string; initialBudget: number | null }
  | { kind: 'chunk'; index: number; chunksDone: number; chunksTotal: number; rowsDone: number; rowsTotal: number; ms: number; budget: number }
  | { kind: 'batch'; docs: number; tokens: number; padded: number; ms: number; peak: number | null }
  | { kind: 'memory'; allocated: number | null; reserved: number | null; free: number | null; total: number | null; peak: number | null }
  | { kind: 'oom'; chunk: number; docs: number; tokens: number; budget: number; action: string }
  | { kind: 'log'; line: string };
