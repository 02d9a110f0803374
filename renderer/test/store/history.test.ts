/**
 * The run view rebuilt from a real history file (written by the Engine's own
 * HistoryWriter), then fed live events: no gap, no duplicate, gaps on the time axis.
 * The API is the one boundary replaced: its runHistory reads the file as the panel's does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { HeadroomApi, RunEvent, RunHistory } from '../../../worker/src/contract/api.ts';
import { EMBED_KIND } from '../../../worker/src/contract/jobs/embed.ts';
import { HistoryWriter, readHistory } from '../../../worker/src/runs/history.ts';
import { EMBED_HISTORY_SAMPLES } from '../../../worker/src/jobs/embed/historySamples.ts';
import { simulateEmbedRun } from '../../../worker/test/runs/simulatedRun.ts';
import { embedSeriesOf, workerFigures } from '../../src/store/embed.ts';
import { useStore } from '../../src/store/index.ts';
import { timeDomain } from '../../src/store/timeline.ts';
import { batch, chunk, memory } from './fixtures.ts';

const RUN = 'r1';

/** An API whose runHistory answers from a run folder; with `held`, only once `release` is called. */
function apiOver(dir: string, held = false): { api: HeadroomApi; release: () => void } {
  let release = (): void => undefined;
  const gate = held ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const api = {
    runHistory: async (): Promise<RunHistory> => {
      const history = await readHistory(dir);
      await gate;
      return { runId: RUN, jobKind: EMBED_KIND, events: history.events, counts: history.counts, lastSeq: history.lastSeq, bytes: history.bytes };
    },
  } as unknown as HeadroomApi;
  return { api, release: () => release() };
}

const live = (seq: number, at: number, event: RunEvent['event']): RunEvent => ({ runId: RUN, jobKind: EMBED_KIND, seq, at, event });

beforeEach(() => {
  useStore.setState({ embedSeries: {}, timelines: {}, loading: {}, droppedEvents: 0 });
});

describe('the run view from disk', () => {
  it('rebuilds charts, log and counts from the history, then applies only later live events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-view-'));
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    const t0 = 1_700_000_000_000;
    const sent: RunEvent[] = [];
    const send = (event: RunEvent['event'], at: number): void => {
      const entry = writer.record(event, at);
      sent.push(live(entry.seq, entry.at, entry.event));
    };
    send({ kind: 'session', phase: 'start', command: 'start' }, t0);
    for (let i = 0; i < 10; i += 1) send(batch(8 + i, 800, 100), t0 + i * 1500);
    send(chunk(1), t0 + 15_000);
    send({ kind: 'paused' }, t0 + 16_000);
    send({ kind: 'resumed' }, t0 + 26_000);
    writer.close();

    const over = apiOver(dir, true);
    useStore.setState({ api: over.api });
    // The tab was open: it saw the first events live; it reloads, and more come while the history loads.
    for (const event of sent.slice(0, 4)) useStore.getState().onRunEvent(event);
    const loading = useStore.getState().loadHistory(RUN);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const duplicate = sent.at(-1)!; // also in the history
    useStore.getState().onRunEvent(duplicate);
    const after = live(duplicate.seq + 1, t0 + 27_000, batch(99, 900, 100));
    useStore.getState().onRunEvent(after);
    over.release();
    await loading;

    const series = embedSeriesOf(useStore.getState(), RUN);
    expect(series.batchDocs.map((p) => p.v)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 99]);
    expect(series.batches).toBe(11);
    expect(series.chunks.map((p) => p.v)).toEqual([1]);
    expect(series.log.map((l) => l.line)).toEqual(['session started', 'paused', 'resumed']);
    // A live event already drawn (its seq at or below the history's) is never drawn twice.
    useStore.getState().onRunEvent(after);
    expect(embedSeriesOf(useStore.getState(), RUN).batchDocs.length).toBe(11);
    const timeline = useStore.getState().timelines[RUN]!;
    expect(timeline.gaps).toEqual([{ from: t0 + 16_000, to: t0 + 26_000, why: 'paused' }]);
    expect(timeline.start).toBe(t0);
  });

  it('marks an interruption between sessions (a kill leaves no end) and how a session ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-view-'));
    const first = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    first.record({ kind: 'session', phase: 'start', command: 'start' }, 1000);
    first.record(memory(5), 2000);
    first.record({ kind: 'log', line: 'working' }, 3000); // then SIGKILL: no end
    const second = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    second.record({ kind: 'session', phase: 'start', command: 'resume' }, 60_000);
    second.record({ kind: 'session', phase: 'end', outcome: 'failed', message: 'out of memory' }, 70_000);
    second.close();
    useStore.setState({ api: apiOver(dir).api });
    await useStore.getState().loadHistory(RUN);
    const timeline = useStore.getState().timelines[RUN]!;
    expect(timeline.gaps).toEqual([{ from: 3000, to: 60_000, why: 'interrupted' }]);
    expect(timeline.ended).toEqual({ at: 70_000, outcome: 'failed', message: 'out of memory' });
    expect(timeDomain(timeline, 999_999)).toEqual([1000, 70_000]);
    expect(embedSeriesOf(useStore.getState(), RUN).log.at(-1)!.line).toBe('session ended: failed (out of memory)');
  });

  it('gives each worker its last figures from the history, even one never the run-wide extreme (a run opened after it ended)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-view-'));
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    const t0 = 1_700_000_000_000;
    const mine = <E extends RunEvent['event']>(event: E, worker: string): E => ({ ...event, worker });
    writer.record({ kind: 'session', phase: 'start', command: 'start' }, t0);
    // w0 swings from the least to the most (every bucket's extremes are its); w1's figures climb in between.
    for (let i = 0; i < 40; i += 1) {
      const at = t0 + i * 100;
      writer.record(mine(memory(i % 2 ? 1e6 : 9e9, 1e10), 'w0'), at);
      writer.record(mine(batch(i % 2 ? 1 : 64, 800, 100), 'w0'), at + 10);
      writer.record(mine(memory(5e8 + i * 1e6, 1e10), 'w1'), at + 20);
      writer.record(mine(batch(10 + Math.floor(i / 4), 800, 100), 'w1'), at + 30);
    }
    writer.record({ kind: 'session', phase: 'end', outcome: 'done', message: null }, t0 + 4100);
    writer.close();
    useStore.setState({ api: apiOver(dir).api });
    await useStore.getState().loadHistory(RUN);
    const series = embedSeriesOf(useStore.getState(), RUN);
    // The Engine's figures of a run that is not live (its journal's): none.
    const none = { id: 'w1', device: 'cpu', pid: null, state: 'done', restarts: 0, chunksDone: 3, allocated: null, peak: null, batchDocs: null, budget: 900 } as const;
    expect(workerFigures(none, series, false)).toEqual({ allocated: 5e8 + 39e6, peak: 5e8 + 39e6, batchDocs: 19, recordedAt: (t0 + 3920) / 1000 }); // its last memory sample
    expect(workerFigures({ ...none, id: 'w0' }, series, false)).toMatchObject({ allocated: 1e6, peak: 9e9, batchDocs: 1 });
    // Live, the Engine's own figures stand (here none yet: "—").
    expect(workerFigures(none, series, true)).toEqual({ allocated: null, peak: null, batchDocs: null, recordedAt: null });
  });

  it('loads the history of a simulated 24-hour run into the store quickly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-view-'));
    const run = simulateEmbedRun(dir, { hours: 24 });
    useStore.setState({ api: apiOver(dir).api });
    const started = performance.now();
    await useStore.getState().loadHistory(RUN);
    const ms = performance.now() - started;
    const series = embedSeriesOf(useStore.getState(), RUN);
    const history = await readHistory(dir);
    process.stdout.write(`store rebuilt from a 24 h history (${history.events.length.toLocaleString()} events, ${(history.bytes / 1e6).toFixed(2)} MB) in ${ms.toFixed(0)} ms\n`);
    expect(series.chunks.at(-1)!.v).toBe(run.chunks);
    expect(series.ooms.length).toBe(run.ooms);
    expect(series.batches).toBeGreaterThan(run.batches - 1000);
    const gaps = useStore.getState().timelines[RUN]!.gaps.map((gap) => gap.why);
    expect(gaps).toEqual(['paused', 'interrupted']);
  });
});
