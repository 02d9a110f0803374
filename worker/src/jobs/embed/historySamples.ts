/** The embed run's high-rate events and what its charts draw of each: a run's history keeps their extremes (runs/history.ts). */
import type { SampleValues } from '../../runs/history.js';

const n = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export const EMBED_HISTORY_SAMPLES: SampleValues = {
  // Batch size, and tokens per second.
  batch: (event) => {
    const ms = n(event.ms);
    const tokens = n(event.tokens);
    return [n(event.docs), ms !== null && tokens !== null && ms > 0 ? (tokens / ms) * 1000 : null];
  },
  // Chunks done rise with time: the bucket's first and last.
  chunk: (event) => [n(event.chunksDone)],
  // Memory after clean-up between units: the leak detector's series.
  baseline: (event) => [n(event.bytes)],
};
