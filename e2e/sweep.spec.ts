/**
 * Issue 12: a sweep from the panel, in Debian's Chromium against a real `headroom serve`
 * and the real Python runtime (torch, Optuna): write a small CSV, start a sweep from the
 * New sweep form (its columns previewed, the target chosen by a click, a small space),
 * watch "Trial progress" and the loss curves gain points, pause (no curve point while
 * paused), resume, SIGKILL the runtime (its pid from the `runtime` event in the log),
 * "Resume run", done; the trials table holds what trials.jsonl holds, sorted by a click.
 * Issue 13: a comparison of the four families (NN, XGBoost, LightGBM, CatBoost) from the
 * same form, on tiny spaces: a refusal of a tree space placed by its row, the comparison
 * ranking the families as trials.jsonl does, "Trial progress" with a series per family,
 * the tree workers, and the table = trials.jsonl by family and number, at 1024 px too.
 * Screenshots land in e2e/screenshots/sweep-*.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { ROOT, serve, type Served, runFolders } from './serve.ts';

const SHOTS = join(ROOT, 'e2e', 'screenshots');
const ROWS = 300;
const TRIALS = 8;
const points = async (chart: Locator): Promise<number> => Number(await chart.getAttribute('data-points'));
/** A full-page screenshot from the top (scrolled, the fixed header would land mid-page). */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `sweep-${name}.png`), fullPage: true });
}

/** Serious and critical axe violations on the page as it is now (the rules a11y.spec.ts holds every view to). */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
}

let served: Served | null = null;
let runsDir: string;
let table: string;

/** A regression table: 5 features, y a noisy linear function of them (a seeded LCG, no dependency). */
function writeTable(path: string): void {
  let state = 12345;
  const rand = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const lines = ['a,b,c,d,e,y'];
  for (let i = 0; i < ROWS; i += 1) {
    const x = Array.from({ length: 5 }, rand);
    const y = x[0]! - 2 * x[1]! + 0.5 * x[2]! + 0.3 * x[4]! + 0.05 * rand();
    lines.push([...x, y].map((v) => v.toFixed(5)).join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-sweep-'));
  runsDir = join(dir, 'runs');
  table = join(dir, 'table.csv');
  writeTable(table);
  served = await serve(['--port', '0', '--runs-dir', runsDir], { HEADROOM_CACHE_DIR: join(dir, 'cache'), HEADROOM_CONFIG_DIR: join(dir, 'config') });
});

test.afterAll(() => {
  served?.process.kill('SIGTERM');
});

test('a sweep from the form: trial progress and loss curves, pause, resume, a killed runtime, "Resume run", the table = trials.jsonl', async ({ page }) => {
  await page.goto(served!.url);
  await expect(page.getByText('connected')).toBeVisible();
  await page.getByRole('button', { name: 'New run', exact: true }).first().click();
  await page.getByText('Sweep hyperparameters', { exact: true }).click();
  await expect(page.getByRole('heading', { name: 'New sweep' })).toBeVisible();

  // The data file's columns, previewed; the target chosen by a click on its column.
  await page.getByLabel('Data file').fill(table);
  await expect(page.getByText(`${ROWS} rows × 6 columns`)).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('table', { name: 'Data columns' })).toContainText('float');
  await page.getByRole('button', { name: 'Use column "y" as the target' }).click();
  await expect(page.getByRole('combobox', { name: 'Target' })).toHaveValue('y');

  // A refusal in the form's words, next to its field.
  await page.getByLabel('Trials', { exact: true }).fill('0');
  await page.getByLabel('Hidden layer shapes').fill('16-0');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(page.getByText('at least 1 trial')).toBeVisible();
  await expect(page.getByText('"16-0" is not a shape')).toBeVisible();
  await shot(page, '1-form-invalid');

  await page.getByLabel('Trials', { exact: true }).fill(String(TRIALS));
  await page.getByLabel('Epochs', { exact: true }).fill('60');
  await page.getByLabel('Patience (epochs)').fill('0');
  await page.getByText('fixed', { exact: true }).click();
  await page.getByLabel('Members at once').fill('2');
  await page.getByLabel('Hidden layer shapes').fill('16-8, 12-6');
  await page.getByLabel('Name', { exact: true }).fill('e2e sweep');
  await shot(page, '2-form');
  expect(await violations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Start sweep' }).click();

  const status = page.getByRole('status', { name: 'Run status' });
  await expect(status).toHaveText('running', { timeout: 60_000 });
  const progress = page.getByRole('img', { name: 'Trial progress' });
  const curves = page.getByRole('img', { name: 'Loss curves' });
  await expect.poll(() => points(curves), { timeout: 180_000 }).toBeGreaterThan(3);
  const early = await points(curves);
  await expect.poll(() => points(curves), { timeout: 60_000 }).toBeGreaterThan(early); // live
  await expect.poll(() => points(progress), { timeout: 180_000 }).toBeGreaterThanOrEqual(1);
  await expect(page.getByLabel('Best so far')).toContainText(/best R² -?\d\.\d{4}/);
  await expect(page.getByLabel('Engine')).toContainText('2 members at once');
  await shot(page, '3-running');
  await page.mouse.move(0, 0); // the pointer left over a chart after Start run opens its tooltip (series colours); the check is of the page
  expect(await violations(page)).toEqual([]);

  // Pause: no curve point arrives while paused.
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(status).toHaveText('paused');
  await page.waitForTimeout(1500); // charts draw at low priority: let the points sent before the pause land
  const paused = await points(curves);
  const pausedTrials = await points(progress);
  await page.waitForTimeout(3000);
  expect(await points(curves)).toBe(paused);
  expect(await points(progress)).toBe(pausedTrials);
  await shot(page, '4-paused');

  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(status).toHaveText('running');
  await expect.poll(() => points(curves), { timeout: 60_000 }).not.toBe(paused);

  // SIGKILL the runtime (its pid: the `runtime` event, in the event log) while trials remain.
  const log = await page.getByRole('region', { name: 'Event log' }).or(page.getByLabel('Event log')).first().innerText();
  const pid = Number([...log.matchAll(/runtime (\d+) ready/g)].at(-1)?.[1]);
  expect(pid).toBeGreaterThan(0);
  expect(await points(progress)).toBeLessThan(TRIALS);
  process.kill(pid, 'SIGKILL');
  await expect(status).toHaveText('interrupted', { timeout: 60_000 });
  await shot(page, '5-interrupted');

  await page.getByRole('button', { name: 'Resume run' }).click();
  await expect(status).toHaveText('running', { timeout: 60_000 });
  await expect(status).toHaveText('done', { timeout: 360_000 });
  await expect(progress).toHaveAttribute('data-points', String(TRIALS));
  await expect(page.getByLabel('Summary')).toContainText(`Done: ${TRIALS} trials`);

  // The table holds what trials.jsonl holds: each trial, its state and value.
  const [runId] = runFolders(runsDir);
  const runDir = join(runsDir, runId!);
  const lines = readFileSync(join(runDir, 'trials.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { number: number; state: string; value: number | null; params: { hidden: string } });
  expect(lines.filter((t) => t.state === 'complete')).toHaveLength(TRIALS);
  const rows = page.getByRole('table', { name: 'Trials' }).locator('tbody tr');
  await expect(rows).toHaveCount(lines.length);
  for (const trial of lines) {
    const row = page.locator(`tr[data-trial="${trial.number}"]`);
    await expect(row).toContainText(trial.state);
    await expect(row).toContainText(trial.params.hidden);
    if (trial.value !== null) await expect(row).toContainText(trial.value.toFixed(4));
  }
  await expect(page.getByText(join(runDir, 'trials.jsonl')).first()).toBeVisible();
  await expect(page.getByText(join(runDir, 'study.db')).first()).toBeVisible();

  // Sorted by a click on Value: the best first; filtered by a shape: only its trials.
  await page.getByRole('button', { name: 'Sort by Value' }).click();
  const best = lines.filter((t) => t.value !== null).sort((a, b) => b.value! - a.value!)[0]!;
  await expect(rows.first()).toHaveAttribute('data-trial', String(best.number));
  await page.getByLabel('Filter trials').fill('12-6');
  await expect(rows).toHaveCount(lines.filter((t) => t.params.hidden === '12-6').length);
  await page.getByLabel('Filter trials').fill('');
  await shot(page, '6-done');
  expect(await violations(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, '7-done-dark');
  expect(await violations(page)).toEqual([]);

  // The runs list says what the sweep is, in its own words.
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByRole('button', { name: 'Runs', exact: true }).first().click();
  const listed = page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${runId}"]`);
  await expect(listed).toContainText('sweep of y in table.csv');
  await expect(listed).toContainText(`${TRIALS} of ${TRIALS} trials`);
  await shot(page, '8-runs');
});

test('a comparison of four families from the form: ranked, a series per family, the tree workers, the table = trials.jsonl', async ({ page }) => {
  const PER_FAMILY = 3;
  const FAMILIES = ['nn', 'xgboost', 'lightgbm', 'catboost'] as const;
  const before = new Set(runFolders(runsDir));
  await page.goto(served!.url);
  await expect(page.getByText('connected')).toBeVisible();
  await page.getByRole('button', { name: 'New run', exact: true }).first().click();
  await page.getByText('Sweep hyperparameters', { exact: true }).click();
  await page.getByLabel('Data file').fill(table);
  await expect(page.getByText(`${ROWS} rows × 6 columns`)).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Use column "y" as the target' }).click();

  // NN is checked by default; the tree families are added, each with its default space shown.
  await expect(page.getByRole('checkbox', { name: /^NN/ })).toBeChecked();
  for (const name of ['XGBoost', 'LightGBM', 'CatBoost']) await page.getByRole('checkbox', { name, exact: true }).check();
  for (const name of ['NN', 'XGBoost', 'LightGBM', 'CatBoost']) await expect(page.getByRole('table', { name: `Search space of ${name}` })).toBeVisible();
  await expect(page.getByLabel('XGBoost n_estimators to')).toHaveValue('1000');
  await page.getByLabel('Trials', { exact: true }).fill(String(PER_FAMILY));
  await page.getByLabel('Epochs', { exact: true }).fill('20');
  await page.getByLabel('Patience (epochs)').fill('0');
  await page.getByLabel('Hidden layer shapes').fill('8');
  for (const [family, key] of [
    ['XGBoost', 'n_estimators'],
    ['LightGBM', 'n_estimators'],
    ['CatBoost', 'iterations'],
  ] as const) {
    await page.getByLabel(`${family} ${key} from`).fill('5');
    await page.getByLabel(`${family} ${key} to`).fill('10');
  }
  await page.getByLabel('Tree workers mode').getByText('fixed', { exact: true }).click();
  await page.getByLabel('Workers', { exact: true }).fill('2');
  await page.getByLabel('Name', { exact: true }).fill('e2e comparison');

  // A tree space out of the runtime's range: its refusal in the form, by the row it names.
  await page.getByLabel('XGBoost subsample to').fill('1.5');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  const spaceOfXgb = page.getByRole('table', { name: 'Search space of XGBoost' });
  await expect(spaceOfXgb.getByText(/subsample.*out of range/)).toBeVisible({ timeout: 60_000 });
  expect(runFolders(runsDir).filter((d) => !before.has(d))).toEqual([]); // nothing created
  await page.getByLabel('XGBoost subsample to').fill('1');
  await shot(page, '9-form-families');
  expect(await violations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Start sweep' }).click();

  const status = page.getByRole('status', { name: 'Run status' });
  await expect(status).toHaveText(/running|done/, { timeout: 60_000 });
  const comparison = page.getByLabel('Comparison');
  await expect(comparison).toBeVisible();
  await expect(page.getByLabel('Tree workers')).toBeVisible({ timeout: 240_000 });
  await shot(page, '10-families-running');
  await expect(status).toHaveText('done', { timeout: 360_000 });

  // What trials.jsonl holds, family by family.
  const [runId] = runFolders(runsDir).filter((d) => !before.has(d));
  const lines = readFileSync(join(runsDir, runId!, 'trials.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { family: string; number: number; state: string; value: number | null });
  for (const family of FAMILIES) expect(lines.filter((t) => t.family === family && t.state === 'complete')).toHaveLength(PER_FAMILY);
  const bestOf = (family: string): number => Math.max(...lines.filter((t) => t.family === family && t.value !== null).map((t) => t.value!));
  const ranked = [...FAMILIES].sort((a, b) => bestOf(b) - bestOf(a));

  // The comparison ranks the families as their best values do, each with its best value.
  const rows = comparison.locator('tbody tr[data-family]');
  await expect(rows).toHaveCount(FAMILIES.length);
  await expect.poll(async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-family')))).toEqual(ranked);
  for (const [i, family] of ranked.entries()) {
    const row = comparison.locator(`tr[data-family="${family}"]`);
    await expect(row).toHaveAttribute('data-rank', String(i + 1));
    await expect(row).toContainText(bestOf(family).toFixed(4));
    await expect(row).toContainText(`${PER_FAMILY} of ${PER_FAMILY}`);
  }

  // "Trial progress": a series per family, every finished trial a point.
  const progress = page.getByRole('img', { name: 'Trial progress' });
  await expect(progress).toHaveAttribute('data-series', String(FAMILIES.length));
  await expect(progress).toHaveAttribute('data-families', FAMILIES.join(','));
  await expect(progress).toHaveAttribute('data-points', String(lines.filter((t) => t.value !== null).length));
  await expect(page.getByLabel('Tree workers').locator('[data-workers="2"]')).toHaveCount(3);

  // The table holds what trials.jsonl holds, by family and number.
  const tableRows = page.getByRole('table', { name: 'Trials' }).locator('tbody tr');
  await expect(tableRows).toHaveCount(lines.length);
  for (const trial of lines) {
    const row = page.locator(`table[aria-label="Trials"] tr[data-family="${trial.family}"][data-trial="${trial.number}"]`);
    await expect(row).toHaveCount(1);
    await expect(row).toContainText(trial.state);
    if (trial.value !== null) await expect(row).toContainText(trial.value.toFixed(4));
  }
  // Filtered to one family: its rows alone, its params a column each.
  await page.getByRole('combobox', { name: 'Family' }).click();
  await page.getByRole('option', { name: 'CatBoost' }).click();
  await expect(tableRows).toHaveCount(lines.filter((t) => t.family === 'catboost').length);
  await expect(page.getByRole('button', { name: 'Sort by iterations' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Family' }).click();
  await page.getByRole('option', { name: 'all families' }).click();
  await expect(tableRows).toHaveCount(lines.length);

  await shot(page, '11-families-done');
  expect(await violations(page)).toEqual([]);
  await page.setViewportSize({ width: 1024, height: 800 });
  await shot(page, '12-families-1024');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, '13-families-1024-dark');
  expect(await violations(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: 'light' });
});
