/**
 * Benchmark: the run view with 86,400 samples per chart, streaming, in Debian's
 * Chromium driven by Playwright. Reports the latency from an event handed to the
 * store (where the WebSocket and IPC clients hand theirs) to the frame that shows
 * it, and the frame times while streaming (p50, p95, max).
 *
 *   npm run bench:panel -- [--events 100] [--hz 4]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { build } from 'vite';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';
import { CONTENT_TYPES } from '../worker/src/assets/webAssets.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100' }, hz: { type: 'string', default: '4' } } });
const OUT = join(REPO_ROOT, 'bench', 'out', 'panel');

await build({ configFile: join(REPO_ROOT, 'bench', 'panel', 'vite.config.ts') });
const server = createServer((request, response) => {
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
    },
    null,
    2,
  ),
);
