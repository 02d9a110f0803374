/**
 * Each worker of a run with --workers as the panel and `headroom status` show it
 * (contract: EmbedWorkerInfo): from the journal (device, pid, restarts, units done,
 * given up) and kept current by the live events that name a worker (memory, batch,
 * chunk, worker).
 */
import { workerId, type EmbedEvent, type EmbedWorkerInfo } from '../../contract/jobs/embed.js';
import type { JournalRecord } from './records.js';

/**
 * The workers as the journal leaves them; null for a run without --workers. `live`: a process runs the run
 * now (its lock, as the run's status says); a worker of a run that is neither live nor done is stopped.
 */
export function workersFromJournal(workers: readonly string[] | null, records: readonly JournalRecord[], run: { completed: boolean; live: boolean }): EmbedWorkerInfo[] | null {
  if (workers === null) return null;
  return workers.map((device, i) => {
    const id = workerId(i);
    const mine = records.filter((record) => 'worker' in record && record.worker === id);
    const lastChunk = mine.findLast((record) => record.type === 'chunk_done');
    const lastStart = mine.findLastIndex((record) => record.type === 'worker_started');
    const givenUp = mine.findLastIndex((record) => record.type === 'worker_given_up') > lastStart;
    const state = givenUp ? 'given_up' : run.completed ? 'done' : !run.live ? 'stopped' : mine.findLastIndex((record) => record.type === 'chunk_done') > lastStart ? 'working' : 'starting';
    return {
      id,
      device,
      // a stopped or given-up worker has no process
      pid: state === 'stopped' || state === 'given_up' ? null : (mine.findLast((record) => record.type === 'worker_started')?.pid ?? null),
      state,
      restarts: mine.filter((record) => record.type === 'worker_restarted').length,
      chunksDone: mine.filter((record) => record.type === 'chunk_done').length,
      allocated: null,
      peak: null,
      batchDocs: null,
      budget: lastChunk?.type === 'chunk_done' ? lastChunk.stats.budget : null,
    };
  });
}

/** The workers after one live event (the same list when the event names no worker). */
export function foldWorkers(workers: readonly EmbedWorkerInfo[], event: EmbedEvent): EmbedWorkerInfo[] | undefined {
  const id = 'worker' in event ? event.worker : undefined;
  if (id === undefined || !workers.some((worker) => worker.id === id)) return undefined;
  const change = (worker: EmbedWorkerInfo): EmbedWorkerInfo => {
    switch (event.kind) {
      case 'worker':
        if (event.phase === 'started') return { ...worker, pid: event.pid, state: 'starting' };
        if (event.phase === 'restarted') return { ...worker, state: 'restarting', restarts: worker.restarts + 1, allocated: null };
        return { ...worker, state: 'given_up', pid: null, allocated: null };
      case 'runtime':
        return { ...worker, pid: event.pid, state: 'working' };
      case 'memory':
        return { ...worker, allocated: event.allocated, peak: Math.max(worker.peak ?? 0, event.peak ?? 0, event.allocated ?? 0) || null };
      case 'batch':
        return { ...worker, batchDocs: event.docs, state: 'working' };
      case 'chunk':
        return { ...worker, chunksDone: worker.chunksDone + 1, budget: event.budget, state: event.chunksDone >= event.chunksTotal ? 'done' : 'working' };
      default:
        return worker;
    }
  };
  return workers.map((worker) => (worker.id === id ? change(worker) : worker));
}
