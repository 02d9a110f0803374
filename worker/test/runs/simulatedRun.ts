/**
 * A long embed run's events at the real rates, fed to a real HistoryWriter: for the
 * history's bound tests and the panel benchmark (no runtime: hours of events in seconds).
 */
import { HistoryWriter } from '../../src/runs/history.js';
import { EMBED_HISTORY_SAMPLES } from '../../src/jobs/embed/historySamples.js';

export interface SimulatedRun {
  events: number;
  chunks: number;
  batches: number;
  ooms: number;
}

/**
 * Memory at 4 Hz (the runtime's rate), a batch every `batchMs`, a chunk every 30 s,
 * an OOM an hour, a pause of 10 minutes at a third and a kill (no session end) at two
 * thirds, then a resume to the end. `workers`: the batches and memory samples are
 * those workers' (w0, w1, ...) in turn.
 */
export function simulateEmbedRun(runDir: string, { hours = 24, batchMs = 100, t0 = 1_700_000_000_000, workers = 0 } = {}): SimulatedRun {
  const span = hours * 3600 * 1000;
  const counts: SimulatedRun = { events: 0, chunks: 0, batches: 0, ooms: 0 };
  let writer = new HistoryWriter(runDir, EMBED_HISTORY_SAMPLES);
  // With workers: each batch (and the memory sample after it) is the next worker's, in turn.
  const record = (event: { kind: string } & Record<string, unknown>, at: number): void => {
    writer.record(workers > 0 && (event.kind === 'batch' || event.kind === 'memory') ? { ...event, worker: `w${Math.floor(at / batchMs) % workers}` } : event, t0 + at);
    counts.events += 1;
  };
  record({ kind: 'session', phase: 'start', command: 'start' }, 0);
  const chunksTotal = Math.ceil(span / 30_000);
  const pauseAt = Math.floor(span / 3 / batchMs) * batchMs;
  const killAt = Math.floor((2 * span) / 3 / batchMs) * batchMs;
  for (let t = 0; t < span; t += batchMs) {
    if (t === pauseAt) {
      record({ kind: 'paused' }, t);
      t += 600_000;
      record({ kind: 'resumed' }, t);
    }
    if (t === killAt) {
      writer = new HistoryWriter(runDir, EMBED_HISTORY_SAMPLES); // the old one dies unflushed: SIGKILL
      t += 120_000;
      record({ kind: 'session', phase: 'start', command: 'resume' }, t);
    }
    record({ kind: 'batch', docs: 16 + ((t / batchMs) % 48), tokens: 9000, padded: 10_000, ms: batchMs, peak: null }, t);
    counts.batches += 1;
    if (t % 250 < batchMs) record({ kind: 'memory', allocated: 4e9 + Math.sin(t / 1e6) * 1e9, reserved: 6e9, free: 2e9, total: 8e9, peak: 6e9 }, t);
    if (t % 30_000 < batchMs) {
      counts.chunks += 1;
      record({ kind: 'chunk', model: 'm', index: counts.chunks - 1, chunksDone: counts.chunks, chunksTotal, rowsDone: counts.chunks * 350, rowsTotal: chunksTotal * 350, ms: 30_000, budget: 4096, fileBytes: 1, truncated: 0, cutToFit: 0, onCpu: 0 }, t);
    }
    if (t % 3_600_000 < batchMs) {
      counts.ooms += 1;
      record({ kind: 'oom', model: 'm', chunk: counts.chunks, docs: 64, tokens: 9000, budget: 4000, action: 'retry' }, t);
    }
  }
  record({ kind: 'session', phase: 'end', outcome: 'done', message: null }, span);
  writer.close();
  return counts;
}
