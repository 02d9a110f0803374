/**
 * Benchmark: the run view with 86,400 samples per chart, streaming, in Debian's
 * Chromium driven by Playwright. Reports the latency from an event handed to the
 * store (where the WebSocket and IPC clients hand theirs) to the frame that shows
 * it, and the frame times while streaming (p50, p95, max). Then opens the run view of
 * a finished day-long run of a million documents from its history on disk (a history
 * the Engine's own writer made): its size, and the time to the last chart drawn.
 *
 *   npm run bench:panel -- [--events 100] [--hz 4]
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { build } from 'vite';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';
import { CONTENT_TYPES } from '../worker/src/assets/webAssets.js';
import { historyPath, readHistory } from '../worker/src/runs/history.js';
import { simulateEmbedRun } from '../worker/test/runs/simulatedRun.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100' }, hz: { type: 'string', default: '4' } } });
const OUT = join(REPO_ROOT, 'bench', 'out', 'panel');

await build({ configFile: join(REPO_ROOT, 'bench', 'panel', 'vite.config.ts') });
// The history of a finished day-long run of a million documents, written by the Engine's own HistoryWriter.
const finished = mkdtempSync(join(tmpdir(), 'headroom-bench-history-'));
const simulated = simulateEmbedRun(finished, { hours: 24, batchMs: 86 });
const historyBytes = statSync(historyPath(finished)).size;
const server = createServer((request, response) => {
  if (request.url === '/history') {
    void readHistory(finished).then((history) =>
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ runId: 'done-1m', jobKind: 'embed', events: history.events, counts: history.counts, lastSeq: history.lastSeq, bytes: history.bytes })),
    );
    return;
  }
  const path = join(OUT, request.url === '/' ? 'index.html' : (request.url ?? '').split('?')[0]!);
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

const browser = await chromium.launch({
  executablePath: process.env.HEADROOM_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
const loadStarted = performance.now();
await page.goto(`http://127.0.0.1:${port}/`);
await page.waitForSelector('figure[aria-label="VRAM"] .recharts-line');
const firstRenderMs = performance.now() - loadStarted;
const result = await page.evaluate(([events, hz]) => (window as unknown as { runBench: (n: number, hz: number) => Promise<{ samplesPerChart: number; latencyMs: number[]; frameMs: number[] }> }).runBench(events, hz), [Number(values.events), Number(values.hz)] as const);
await page.screenshot({ path: join(REPO_ROOT, 'bench', 'out', 'panel-bench.png') });
// A fresh page: the finished run's view opened from its history on disk.
const openPage = await browser.newPage({ viewport: { width: 1360, height: 900 } });
await openPage.goto(`http://127.0.0.1:${port}/`);
await openPage.waitForSelector('figure[aria-label="VRAM"] .recharts-line');
const opened = await openPage.evaluate(() => (window as unknown as { openFinished: () => Promise<{ ms: number; points: number[] }> }).openFinished());
await openPage.screenshot({ path: join(REPO_ROOT, 'bench', 'out', 'panel-open-finished.png') });
await browser.close();
server.close();

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1));
};
console.log(
  JSON.stringify(
    {
      bench: 'panel',
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
      browser: 'Debian chromium (headless), --disable-gpu',
      samplesPerChart: result.samplesPerChart,
      events: result.latencyMs.length,
      hz: Number(values.hz),
      firstRenderMs: Math.round(firstRenderMs),
      latencyMs: { p50: pct(result.latencyMs, 50), p95: pct(result.latencyMs, 95), max: pct(result.latencyMs, 100) },
      frameMs: { p50: pct(result.frameMs, 50), p95: pct(result.frameMs, 95), max: pct(result.frameMs, 100), frames: result.frameMs.length },
      openFinishedRun: { documents: 1_000_000, hours: 24, eventsRecorded: simulated.events, historyBytes, openMs: Math.round(opened.ms), pointsPerChart: opened.points },
    },
    null,
    2,
  ),
);
