/** What an embed run reports while it works: typed by the contract (contract/jobs/embed.ts), which the panel parses too. */
import type { EmbedEvent } from '../../contract/jobs/embed.js';

export type Progress = EmbedEvent;

/** Runtime memory in bytes (GPU allocated, or process RSS on CPU): first sample, peak, last; resident model bytes. */
export interface MemoryFigures {
  start: number | null;
  peak: number | null;
  end: number | null;
  /** Most bytes of model parameters and buffers resident at once (any device). */
  resident: number | null;
}
