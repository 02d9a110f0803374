/**
 * The real panel in Debian's Chromium against `headroom serve` with a real Python
 * worker: start a run from the form, watch the charts fill, pause (status says so
 * and no batch arrives), resume, kill the worker, see the run interrupted, click
 * "Resume run", and find the right output on disk. Screenshots land in
 * e2e/screenshots/ (look at them).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { serve, runFolders } from './serve.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = join(ROOT, 'e2e', 'screenshots');
const DOCS = 600;

let server: ChildProcess;
let url: string;
let runsDir: string;
let corpus: string;

/** Python workers started by the server process (its direct children). */
function workerPids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}

const points = async (chart: Locator): Promise<number> => Number(await chart.getAttribute('data-points'));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-'));
  runsDir = join(dir, 'runs');
  // A slice of the demo corpus, so the run takes a minute on two CPU cores.
  const demo = readFileSync(join(ROOT, '.headroom', 'demo-corpus.jsonl'), 'utf8').split('\n').slice(0, DOCS);
  corpus = join(dir, 'demo-slice.jsonl');
  writeFileSync(corpus, `${demo.join('\n')}\n`);
  ({ process: server, url } = await serve(['--port', '0', '--runs-dir', runsDir], { HEADROOM_CACHE_DIR: join(dir, 'cache') }));
});

test.afterAll(() => {
  server?.kill('SIGTERM');
});

test('a run from the form: charts, pause, resume, a killed worker, "Resume run", output on disk', async ({ page }) => {
  await page.goto(url);
  await expect(page.getByText('connected')).toBeVisible();
  await expect(page).not.toHaveURL(/token=/); // the token leaves the address bar
  await shot(page, '1-runs-empty');

  await page.getByRole('button', { name: 'New run' }).first().click();
  const input = page.getByLabel('Input file');
  await expect(input).toHaveValue(/demo-corpus\.jsonl$/); // the demo is ready to launch
  await expect(page.getByLabel('Model 1', { exact: true })).toHaveValue('sentence-transformers/all-MiniLM-L6-v2');
  await page.getByLabel('Chunk size (documents)').fill('0');
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(page.getByText('at least 1 document per chunk')).toBeVisible(); // flagged in the form
  await shot(page, '2-new-run-invalid');
  await input.fill(corpus);
  await page.getByLabel('Chunk size (documents)').fill('60');
  await page.getByRole('button', { name: 'Start run' }).click();

  const status = page.getByRole('status', { name: 'Run status' });
  await expect(status).toHaveText('running', { timeout: 120_000 }); // the run's creation checks the model in a fresh runtime: a loaded box can take more than 30 s
  const vram = page.getByRole('img', { name: 'VRAM' });
  const batch = page.getByRole('img', { name: 'Batch size' });
  await expect.poll(() => points(vram), { timeout: 120_000 }).toBeGreaterThan(3);
  await expect.poll(() => points(batch), { timeout: 120_000 }).toBeGreaterThan(3);
  const before = await points(batch);
  await expect.poll(() => points(batch)).toBeGreaterThan(before); // it keeps gaining points
  await expect(page.getByRole('img', { name: 'Chunks' })).toBeVisible();
  await shot(page, '3-run-view-running');

  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(status).toHaveText('paused');
  await page.waitForTimeout(1000); // the charts draw at low priority: let the last batch before the pause land
  const paused = await points(batch);
  await page.waitForTimeout(3000);
  expect(await points(batch)).toBe(paused); // no batch events while paused
  await shot(page, '4-run-view-paused');

  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(status).toHaveText('running');
  await expect.poll(() => points(batch)).toBeGreaterThan(paused);

  const [worker] = workerPids(server.pid!);
  expect(worker).toBeGreaterThan(0);
  process.kill(worker!, 'SIGKILL');
  await expect(status).toHaveText('interrupted');
  await shot(page, '5-run-view-interrupted');

  await page.getByRole('link', { name: 'Runs' }).or(page.getByRole('button', { name: 'Runs' })).first().click();
  await expect(page.getByRole('table', { name: 'Runs' })).toContainText('interrupted');
  await shot(page, '6-runs-interrupted');
  await page.getByRole('button', { name: 'Resume run' }).click();
  await expect(status).toHaveText('done', { timeout: 300_000 });
  await shot(page, '7-run-view-done');

  const [runId] = runFolders(runsDir);
  const npy = readFileSync(join(runsDir, runId!, 'embeddings.npy'));
  expect(npy.subarray(0, 128).toString('latin1')).toContain(`'shape': (${DOCS}, 384)`);
  const ids = readFileSync(join(runsDir, runId!, 'ids.txt'), 'utf8').trim().split('\n');
  expect(ids).toHaveLength(DOCS);
  const journal = readFileSync(join(runsDir, runId!, 'journal.jsonl'), 'utf8');
  expect(journal).toContain('"type":"run_interrupted"');
  expect(journal).toContain('"type":"run_completed"');
  const python = process.env.HEADROOM_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
  const check = execFileSync(python, ['-c', 'import sys, numpy as np; m = np.load(sys.argv[1]); print(m.shape, bool(np.isfinite(m).all()), float(np.abs(m).sum()) > 0)', join(runsDir, runId!, 'embeddings.npy')], { encoding: 'utf8' });
  expect(check.trim()).toBe(`(${DOCS}, 384) True True`);
});

test('GPUs and Doctor views, light and dark', async ({ page }) => {
  await page.goto(url);
  await page.getByRole('button', { name: 'GPUs' }).click();
  await expect(page.getByText(/No NVIDIA GPU found|GPU 0:/).first()).toBeVisible();
  await expect(page.getByText('System memory').first()).toBeVisible();
  await shot(page, '8-gpus');
  await page.getByRole('button', { name: 'Doctor' }).click();
  await page.getByRole('button', { name: 'Run checks' }).click();
  await expect(page.getByRole('table', { name: 'Checks' })).toContainText('Default model', { timeout: 120_000 });
  await expect(page.getByRole('table', { name: 'Checks' })).toContainText('Disk space');
  await shot(page, '9-doctor');
  await page.getByRole('button', { name: /Switch to (dark|light) theme/ }).click();
  await page.getByRole('button', { name: 'Runs' }).click();
  await shot(page, '10-runs-other-theme');
});
