/**
 * Issue 11: the run view is a record of the run, not a live feed. In Debian's
 * Chromium against a real `headroom serve` and a real Python runtime: reload the tab
 * mid-run (the charts and the log keep their earlier points), SIGKILL the server and
 * start it again on the same runs folder and port (the tab says it lost the
 * connection, reconnects, and shows the history up to the kill, marked interrupted),
 * "Resume run" goes on, and the done run's summary shows what `headroom status --json`
 * reports.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { freePort, ROOT, serve, type Served, runFolders } from './serve.ts';

const SHOTS = join(ROOT, 'e2e', 'screenshots');
const DOCS = 600;
const points = async (chart: Locator): Promise<number> => Number(await chart.getAttribute('data-points'));
const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

let served: Served | null = null;

test.afterAll(() => {
  served?.process.kill('SIGTERM');
});

test('reload, a killed server, reconnect, resume: the run view keeps the whole story', async ({ page }) => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-history-'));
  const runsDir = join(dir, 'runs');
  const demo = readFileSync(join(ROOT, '.headroom', 'demo-corpus.jsonl'), 'utf8').split('\n').slice(0, DOCS);
  const corpus = join(dir, 'slice.jsonl');
  writeFileSync(corpus, `${demo.join('\n')}\n`);
  const port = await freePort();
  const env = { HEADROOM_CACHE_DIR: join(dir, 'cache'), HEADROOM_CONFIG_DIR: join(dir, 'config') };
  const args = ['--port', String(port), '--runs-dir', runsDir];
  served = await serve(args, env);

  await page.goto(served.url);
  await page.getByRole('button', { name: 'New run' }).first().click();
  await page.getByLabel('Input file').fill(corpus);
  await page.getByLabel('Chunk size (documents)').fill('60');
  await page.getByRole('button', { name: 'Start run' }).click();
  const status = page.getByRole('status', { name: 'Run status' });
  // Creating the run starts a runtime to check the model: on a loaded 2-core machine that took over 30 s once.
  await expect(status).toHaveText('running', { timeout: 120_000 });
  const batch = page.getByRole('img', { name: 'Batch size' });
  const vram = page.getByRole('img', { name: 'VRAM' });
  await expect.poll(() => points(batch), { timeout: 180_000 }).toBeGreaterThan(6);

  // Reload mid-run: the earlier points and log lines come back from disk at once.
  const beforeReload = await points(batch);
  await page.reload();
  await page.getByRole('button', { name: 'Runs' }).first().click();
  await page.getByRole('table', { name: 'Runs' }).getByRole('row').nth(1).click();
  await expect.poll(() => points(batch), { timeout: 10_000 }).toBeGreaterThanOrEqual(Math.floor(beforeReload / 2));
  expect(await points(vram)).toBeGreaterThan(0);
  await expect(page.getByText('session started').first()).toBeVisible();
  await shot(page, 'history-1-after-reload');

  // SIGKILL the server (its runtime dies with it), mid-run.
  await expect.poll(() => points(batch), { timeout: 60_000 }).toBeGreaterThan(beforeReload);
  const atKill = await points(batch);
  served.process.kill('SIGKILL');
  await expect(page.getByText(/lost the connection/i).first()).toBeVisible({ timeout: 15_000 });
  await shot(page, 'history-2-connection-lost');

  // The same port and runs folder: the tab reconnects by itself and rebuilds from disk.
  served = await serve(args, env);
  await expect(status).toHaveText('interrupted', { timeout: 30_000 });
  await expect.poll(() => points(batch), { timeout: 15_000 }).toBeGreaterThanOrEqual(Math.floor(atKill / 2));
  await expect(batch).toHaveAttribute('data-ended', 'interrupted');
  await shot(page, 'history-3-reconnected-interrupted');

  await page.getByRole('button', { name: 'Resume run' }).click();
  await expect(status).toHaveText('running');
  await expect(status).toHaveText('done', { timeout: 300_000 });
  // The time between the kill and the resume is a gap on the axis, not a line.
  await expect(batch).toHaveAttribute('data-gaps', /interrupted/);
  await expect.poll(() => points(batch)).toBeGreaterThan(atKill / 2);

  const [runId] = runFolders(runsDir);
  const runDir = join(runsDir, runId!);
  const report = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'bin', 'headroom.mjs'), 'status', runDir, '--json'], { encoding: 'utf8', env: { ...process.env, ...env } })) as { embeddingsSha256: string; status: string };
  expect(report.status).toBe('done');
  await expect(page.getByText(report.embeddingsSha256).first()).toBeVisible();
  await expect(page.getByText(join(runDir, 'embeddings.npy')).first()).toBeVisible();
  await expect(page.getByText(new RegExp(`${DOCS}\\s*[×x]\\s*384`)).first()).toBeVisible();
  await shot(page, 'history-4-done-summary');
});
