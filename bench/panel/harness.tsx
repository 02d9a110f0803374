/**
 * Benchmark harness (not shipped): the real run page and store, fed by a stand-in
 * API, with 86,400 samples already in each chart; then events stream in through
 * the store's own entry point (the one the WebSocket and IPC clients call) and we
 * time (a) event handed to the store -> the frame that shows it, (b) frame times.
 */
import '@mantine/core/styles.css';
import { MantineProvider } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { HeadroomApi } from '../../worker/src/contract/api.ts';
import { EMBED_KIND, type EmbedRunInfo } from '../../worker/src/contract/jobs/embed.ts';
import type { RunSeries } from '../../renderer/src/store/embed.ts';
import { WINDOW, useStore } from '../../renderer/src/store/index.ts';
import { RunPage } from '../../renderer/src/views/RunPage.tsx';
import { EMBED_SETTINGS } from '../../renderer/test/store/fixtures.ts';

const RUN: EmbedRunInfo = {
  name: null,
  phase: 'encoding chunk 501 of 1,000',
  progressLine: 'chunk 501 of 1,000 · 500,000/1,000,000 documents',
  elapsedMs: 0,
  sessionStartedAt: new Date().toISOString(),
  etaMs: null,
  failure: null,
  documentsDone: 500_000,
  chunksTotal: 1000,
  sessionDocumentsStart: 0,
  docsPerSecond: null,
  tokensPerSecond: null,
  summary: null,
  settings: { ...EMBED_SETTINGS, models: [{ model: 'sentence-transformers/all-MiniLM-L6-v2', key: 'm', weight: 1, device: 'cuda:0', ranOn: 'cuda:0' }] },
  runId: 'bench',
  kind: EMBED_KIND,
  known: true,
  status: 'running',
  unitsDone: 500,
  unitsTotal: 1000,
  unit: 'chunks',
  models: ['sentence-transformers/all-MiniLM-L6-v2'],
  ensembleMode: 'simultaneous',
  input: '/data/corpus.jsonl',
  rowsTotal: 1_000_000,
  truncated: 0,
  cutToFit: 0,
  onCpu: 0,
  device: 'cuda:0',
  createdAt: new Date().toISOString(),
  diskBytes: 123_456_789,
  errors: [],
};

/** A finished run of a million documents (its history: bench/panel.ts writes it). */
const DONE: EmbedRunInfo = { ...RUN, runId: 'done-1m', status: 'done', unitsDone: 1000, rowsTotal: 1_000_000 };

/** A stand-in API at the one boundary this page has no server for; runHistory is fetched from the bench's server, which reads the file with the Engine's readHistory. */
const stubApi = new Proxy(
  {},
  {
    get: (_target, name) => {
      if (name === 'on') return () => () => undefined;
      if (name === 'runHistory') return async () => (await fetch('/history')).json();
      return async () => ({ ok: true });
    },
  },
) as HeadroomApi;

function dayOfSamples(): RunSeries {
  const start = Date.now() / 1000 - WINDOW;
  const length = WINDOW - 200; // room to stream without the window trimming itself mid-measurement
  const series = (f: (i: number) => number) => Array.from({ length }, (_, i) => ({ t: start + i, v: f(i) }));
  return {
    vram: series((i) => 6e9 + 2e9 * Math.sin(i / 900) + (i % 13) * 1e7),
    total: 16e9,
    batchDocs: series((i) => 64 + (i % 50)),
    tokensPerSecond: series((i) => 40_000 + 5_000 * Math.sin(i / 300)),
    chunks: series((i) => Math.floor(i / 173)),
    ooms: [start + 20_000, start + 60_000],
    passes: [],
    log: [],
    workerVram: {},
    workerBatch: {},
    workerPeak: {},
    baseline: [],
    incidents: [],
    batches: WINDOW,
  };
}

const day = dayOfSamples();
// The run's time axis as its history would give it: a session open since the first sample.
const timeline = { start: day.vram[0]!.t * 1000, lastAt: day.vram.at(-1)!.t * 1000, gaps: [], open: true, ended: null };
useStore.setState({ api: stubApi, connected: true, view: 'run', runs: [RUN], selected: 'bench', embedSeries: { bench: day }, timelines: { bench: timeline } });
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider>
      <RunPage />
    </MantineProvider>
  </StrictMode>,
);

interface Result {
  samplesPerChart: number;
  events: number;
  latencyMs: number[];
  frameMs: number[];
}

/** Streams `count` events at `hz`, each a memory and a batch event, and times them. */
async function stream(count: number, hz: number): Promise<Result> {
  const vram = document.querySelector('figure[aria-label="VRAM"]')!;
  const latencyMs: number[] = [];
  const frameMs: number[] = [];
  let last = performance.now();
  let running = true;
  const onFrame = (now: number): void => {
    frameMs.push(now - last);
    last = now;
    if (running) requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
  for (let i = 0; i < count; i += 1) {
    const sent = performance.now();
    const before = vram.getAttribute('data-points');
    const drawn = new Promise<void>((resolve) => {
      const observer = new MutationObserver(() => {
        if (vram.getAttribute('data-points') === before) return;
        observer.disconnect();
        requestAnimationFrame(() => resolve()); // the frame that paints the committed point
      });
      observer.observe(vram, { attributes: true });
    });
    const at = Date.now();
    useStore.getState().onRunEvent({ runId: 'bench', jobKind: EMBED_KIND, seq: 2 * i + 1, at, event: { kind: 'memory', allocated: 7e9 + (i % 10) * 1e8, reserved: 8e9, free: 8e9, total: 16e9, peak: 8e9 } });
    useStore.getState().onRunEvent({ runId: 'bench', jobKind: EMBED_KIND, seq: 2 * i + 2, at, event: { kind: 'batch', docs: 80, tokens: 9000, padded: 10_000, ms: 200, peak: null } });
    await drawn;
    latencyMs.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 / hz - (performance.now() - sent))));
  }
  running = false;
  return { samplesPerChart: Number(vram.getAttribute('data-points')), events: count, latencyMs, frameMs: frameMs.slice(1) };
}

(window as unknown as { runBench: typeof stream }).runBench = stream;

/**
 * Opens the run view of a finished run whose history the bench's server holds: from
 * the call to the frame after every chart has drawn its points (ms).
 */
async function openFinished(): Promise<{ ms: number; points: number[] }> {
  const started = performance.now();
  useStore.setState({ runs: [DONE, ...useStore.getState().runs] });
  useStore.getState().show('run', DONE.runId);
  const charts = (): Element[] => [...document.querySelectorAll(`figure[role="img"][data-run="${DONE.runId}"]`)];
  await new Promise<void>((resolve) => {
    const check = (): void => {
      const all = charts();
      if (all.length >= 4 && all.every((figure) => Number(figure.getAttribute('data-points')) > 0)) requestAnimationFrame(() => resolve());
      else setTimeout(check, 5);
    };
    check();
  });
  return { ms: performance.now() - started, points: charts().map((figure) => Number(figure.getAttribute('data-points'))) };
}

(window as unknown as { openFinished: typeof openFinished }).openFinished = openFinished;
