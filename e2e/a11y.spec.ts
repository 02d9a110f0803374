/**
 * axe-core on every view of the real panel (a real `headroom serve`, a real run done by
 * the CLI into the same runs folder), in the light and the dark theme: no serious or
 * critical violation. Screenshots of every view land in e2e/screenshots/a11y-*.png.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { serve } from './serve.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = join(ROOT, 'e2e', 'screenshots');
const HEADROOM = join(ROOT, 'bin', 'headroom.mjs');
const DOCS = 40;
const LONG_DOCS = 600;

let server: ChildProcess;
let url: string;
let runsDir: string;
let env: NodeJS.ProcessEnv;
let longCorpus: string;

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-a11y-'));
  runsDir = join(dir, 'runs');
  env = { ...process.env, HEADROOM_CACHE_DIR: join(dir, 'cache') };
  const demo = readFileSync(join(ROOT, '.headroom', 'demo-corpus.jsonl'), 'utf8').split('\n').slice(0, DOCS);
  const corpus = join(dir, 'demo-slice.jsonl');
  writeFileSync(corpus, `${demo.join('\n')}\n`);
  longCorpus = join(dir, 'demo-long.jsonl');
  writeFileSync(longCorpus, `${readFileSync(join(ROOT, '.headroom', 'demo-corpus.jsonl'), 'utf8').split('\n').slice(0, LONG_DOCS).join('\n')}\n`);
  // A short run, done before the panel opens: the run view of a done run, with its summary card.
  execFileSync(process.execPath, [HEADROOM, 'embed', corpus, '--out', join(runsDir, 'a11y-done'), '--chunk-size', '20'], { env, stdio: 'inherit', timeout: 300_000 });
  ({ process: server, url } = await serve(['--port', '0', '--runs-dir', runsDir], env));
});

test.afterAll(() => {
  server?.kill('SIGTERM');
});

interface Found {
  view: string;
  theme: string;
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** Serious and critical violations on the page as it is now, each with the elements it names. */
async function audit(page: Page, view: string, theme: string): Promise<Found[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ view, theme, id: v.id, impact: v.impact!, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join('') ?? ''}`) }));
}

/** A full-page screenshot from the top (scrolled, the fixed header would land mid-page). */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function open(page: Page, nav: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: nav, exact: true }).click();
}

for (const theme of ['light', 'dark'] as const) {
  test(`every view passes axe in the ${theme} theme, with one h1 each`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' });
    await page.goto(url);
    await expect(page.getByText('connected', { exact: true })).toBeVisible();
    // The toggle names the theme in use, not "auto".
    await expect(page.getByRole('button', { name: `Switch to ${theme === 'dark' ? 'light' : 'dark'} theme (now ${theme} theme, following the system)` })).toBeVisible();
    const found: Found[] = [];
    const check = async (view: string): Promise<void> => {
      const h1 = await page.locator('h1').count();
      if (h1 !== 1) found.push({ view, theme, id: 'one-h1', impact: 'serious', help: `a view has one h1, this one has ${h1}`, nodes: [] });
      await shot(page, `a11y-${view}-${theme}`);
      found.push(...(await audit(page, view, theme)));
    };

    const row = page.getByRole('table', { name: 'Runs' }).locator('tr[data-run="a11y-done"]');
    await expect(row).toContainText('done');
    await check('runs');

    // The whole row opens the run, from the keyboard too.
    await row.focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status', { name: 'Run status' })).toHaveText('done');
    await expect(page).toHaveTitle(/done · a11y-done — Headroom/);
    const summary = page.getByLabel('Summary');
    await expect(summary).toContainText(`${DOCS} × 384`);
    await expect(summary).toContainText('embeddings.npy');
    const status = JSON.parse(execFileSync(process.execPath, [HEADROOM, 'status', '--json', join(runsDir, 'a11y-done')], { env, encoding: 'utf8' })) as { embeddingsSha256?: string };
    expect(status.embeddingsSha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(summary).toContainText(status.embeddingsSha256!); // the same sha256 the CLI reports
    await expect(page.getByRole('combobox', { name: 'OOM policy' })).toHaveValue('fail'); // the value in force, not "unchanged"
    await check('run-done');

    await open(page, 'New run');
    await check('new-run');
    await open(page, 'GPUs');
    await expect(page.getByText('System memory').first()).toBeVisible();
    await check('gpus');
    await open(page, 'Doctor');
    await page.getByRole('button', { name: 'Run checks' }).click();
    await expect(page.getByRole('table', { name: 'Checks' })).toContainText('Disk space', { timeout: 120_000 });
    await check('doctor');

    expect(found, JSON.stringify(found, null, 2)).toEqual([]);
  });
}

test('a running run: phase, ETA, focus kept on pause, a policy change confirmed, whole badges at 1024 px', async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.goto(url);
  await open(page, 'New run');
  await page.getByLabel('Input file').fill(longCorpus);
  await page.getByLabel('Chunk size (documents)').fill('60');
  await page.getByRole('button', { name: 'Start run' }).click();
  const status = page.getByRole('status', { name: 'Run status' });
  await expect(status).toHaveText('running');
  await expect(page.getByLabel('Phase')).toContainText(/encoding chunk \d+ of \d+/, { timeout: 120_000 });
  await expect(page.getByText(/ left$/).first()).toBeVisible({ timeout: 60_000 }); // the ETA, while running
  await expect(page).toHaveTitle(/% running · .* — Headroom/);
  await shot(page, 'a11y-run-running-1024');
  expect(await audit(page, 'run-running', 'light')).toEqual([]);

  // Pause from the keyboard: the button goes disabled, focus goes to Resume (not to the page's body).
  await page.getByRole('button', { name: 'Pause', exact: true }).focus();
  await page.keyboard.press('Enter');
  await expect(status).toHaveText('paused');
  await expect(page.getByRole('button', { name: 'Resume', exact: true })).toBeFocused();
  await expect(page.getByText(/ left$/)).toHaveCount(0); // no ETA while paused

  // A policy change: the select shows it, and it is in force once the run confirms (no "pending" left).
  await page.getByRole('combobox', { name: 'OOM policy' }).click();
  await page.getByRole('option', { name: 'cpu' }).click();
  await expect(page.getByRole('combobox', { name: 'OOM policy' })).toHaveValue('cpu');
  await expect(page.getByText(/^pending: /)).toHaveCount(0, { timeout: 30_000 });
  await shot(page, 'a11y-run-paused-1024');

  await open(page, 'Runs');
  const table = page.getByRole('table', { name: 'Runs' });
  await expect(table).toContainText('paused');
  for (const badge of await table.locator('.mantine-Badge-label').all()) {
    expect(await badge.evaluate((node) => node.scrollWidth <= node.clientWidth + 1)).toBe(true); // the whole word shows
  }
  await shot(page, 'a11y-runs-paused-1024');
  await table.locator('tr', { hasText: 'paused' }).click(); // the whole row opens the run
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(status).not.toHaveText(/running|paused/, { timeout: 60_000 });
  await shot(page, 'a11y-run-stopped-1024');
});
