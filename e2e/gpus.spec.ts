/**
 * The GPUs view against a real `headroom serve` whose monitor runs a fake nvidia-smi on
 * PATH (worker/test/fixtures/fake-nvidia-smi: two GPUs, processes, "N/A" figures): the
 * figures shown are the fixture's; a Headroom runtime left running on purpose
 * (HEADROOM_FAULT_OUTLIVE_PARENT=1, its Engine SIGKILLed) is listed as an orphan and
 * "Kill" ends its process group; axe finds nothing serious, light and dark, at 1024 px. Then the
 * New run form's Workers and VRAM guard fields: refusals under their fields, a run on cpu,cpu (memory
 * figures injected: HEADROOM_FAULT_MEMORY_USED) whose Workers card shows both workers and whose guard
 * warnings and workers' last memory and batch figures come back from disk after a reload.
 * Screenshots: /tmp/notes/shots/gpus-*.png when that folder exists, else e2e/screenshots/.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { EmbedSettingsInForce } from '../worker/src/contract/jobs/embed.ts';
import { ROOT, serve, runFolders } from './serve.ts';

const SHOTS = existsSync('/tmp/notes') ? '/tmp/notes/shots' : join(ROOT, 'e2e', 'screenshots');
const FAKE_SMI_DIR = join(ROOT, 'worker', 'test', 'fixtures', 'fake-nvidia-smi');
const OUTLIVE = join(ROOT, 'worker', 'test', 'fixtures', 'outliveParent.ts');
const ORPHAN_RUN = 'embed-20260101-000000-orph';

let server: ChildProcess | undefined;
let url: string;
let runsDir: string;
let orphan: number | undefined;

/** Alive and not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A T4 row of `--query-gpu` (memory in MiB), as nvidia-smi prints it. */
const t4 = (index: number, usedMiB: number, rest: string): string => `${index}, GPU-${index}-e2e, Tesla T4, ${usedMiB}, 15360, ${rest}\n`;

test.beforeAll(async () => {
  test.skip(process.platform !== 'linux', 'orphans are found through /proc');
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gpus-e2e-'));
  runsDir = join(dir, 'runs');
  mkdirSync(runsDir);
  // A runtime for a run that no Engine serves: its Engine (the fixture) dies by SIGKILL once it is up.
  const printed = (() => {
    try {
      return execFileSync(process.execPath, ['--import', 'tsx', OUTLIVE, join(dir, 'gone', ORPHAN_RUN)], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'inherit'] });
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? ''); // killed by SIGKILL, as planned: its stdout holds the pid
    }
  })();
  orphan = Number(printed.trim());
  expect(Number.isSafeInteger(orphan) && orphan > 0 && isAlive(orphan)).toBe(true);
  // GPU 0: 10 GiB used, the orphan 1 GiB, a process Headroom did not start 2 GiB -> 7 GiB unaccounted.
  // GPU 1: 4 GiB used, one process 3.5 GiB -> 512 MiB unaccounted; its utilisation and power "N/A".
  const scenario = join(dir, 'scenario.json');
  writeFileSync(
    scenario,
    JSON.stringify({
      gpu: [{ stdout: t4(0, 10240, '37, 45, 27.5, 70.00') + t4(1, 4096, '[N/A], 50, [N/A], [N/A]') }],
      apps: [{ stdout: `GPU-0-e2e, ${orphan}, 1024\nGPU-0-e2e, 999999, 2048\nGPU-1-e2e, 999998, 3584\n` }],
    }),
  );
  // The runs this server starts read memory used as these fractions (one per batch, per runtime): each worker crosses
  // the warning level once (the guard re-arms only well below it), and never the critical one.
  const env = { HEADROOM_CACHE_DIR: join(dir, 'cache'), FAKE_SMI_SCENARIO: scenario, PATH: `${FAKE_SMI_DIR}:${process.env.PATH ?? ''}`, HEADROOM_FAULT_MEMORY_USED: '0.5,0.85,0.5' };
  ({ process: server, url } = await serve(['--port', '0', '--runs-dir', runsDir], env));
});

test.afterAll(() => {
  server?.kill('SIGTERM');
  if (orphan !== undefined && isAlive(orphan)) process.kill(-orphan, 'SIGKILL'); // the group this spec made, by the pid it holds
});

async function openGpus(page: Page): Promise<void> {
  await page.goto(url);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'GPUs', exact: true }).click();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `gpus-${name}.png`), fullPage: true });
}

async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test("the fixture's figures, processes by run, unaccounted memory, and an orphan killed with its group", async ({ page }) => {
  await openGpus(page);
  const gpu0 = page.getByRole('region', { name: 'GPU 0', exact: true });
  const gpu1 = page.getByRole('region', { name: 'GPU 1', exact: true });
  await expect(gpu0.getByText('GPU 0: Tesla T4')).toBeVisible();
  const figure = (gpu: typeof gpu0, name: string) => gpu.locator(`[data-figure="${name}"]`);
  await expect(figure(gpu0, 'Memory')).toContainText('10.00 GiB of 15.00 GiB');
  await expect(figure(gpu0, 'Utilisation')).toContainText('37%');
  await expect(figure(gpu0, 'Temperature')).toContainText('45 °C');
  await expect(figure(gpu0, 'Power')).toContainText('27.5 W of 70 W');
  await expect(figure(gpu1, 'Memory')).toContainText('4.00 GiB of 15.00 GiB');
  await expect(figure(gpu1, 'Utilisation')).toContainText('—'); // "[N/A]" is not a number
  await expect(figure(gpu1, 'Temperature')).toContainText('50 °C');
  await expect(figure(gpu1, 'Power')).toContainText('—');

  // Processes: nvidia-smi's own figures, each named by what it serves; never the device's total.
  const rows0 = gpu0.getByRole('table', { name: 'GPU 0 processes' }).locator('tbody tr');
  await expect(rows0).toHaveCount(2);
  const orphanRow = gpu0.locator(`tr[data-pid="${orphan}"]`);
  await expect(orphanRow.locator('td').nth(1)).toHaveText('1.00 GiB');
  await expect(orphanRow.locator('td').nth(2)).toHaveText('nvidia-smi');
  await expect(orphanRow.locator('td').nth(3)).toContainText(ORPHAN_RUN);
  await expect(orphanRow.locator('td').nth(3)).toContainText('orphan');
  const foreign = gpu0.locator('tr[data-pid="999999"]');
  await expect(foreign.locator('td').nth(1)).toHaveText('2.00 GiB');
  await expect(foreign.locator('td').nth(3)).toHaveText("not Headroom's");
  await expect(gpu1.locator('tr[data-pid="999998"] td').nth(1)).toHaveText('3.50 GiB');
  for (const cell of await page.locator('table[aria-label$=" processes"] td[data-bytes]').all()) expect(Number(await cell.getAttribute('data-bytes'))).toBeLessThan(15360 * 1024 ** 2);

  // Unaccounted: used - listed processes - the baseline (none learned: every sample lists a process), said so.
  await expect(page.getByLabel('GPU 0 unaccounted memory')).toContainText('Unaccounted: 7.00 GiB');
  await expect(page.getByLabel('GPU 0 unaccounted memory')).toContainText('not learned yet');
  await expect(page.getByLabel('GPU 1 unaccounted memory')).toContainText('Unaccounted: 512.0 MiB');

  // History: one line per GPU and its unaccounted part, filling from live samples.
  const chart = page.getByRole('img', { name: 'GPU memory' });
  await expect(chart).toHaveAttribute('data-series', '4');
  await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(1);

  // The orphan: listed with its run and why, killed with its group after a confirm.
  const orphans = page.getByRole('region', { name: 'Orphans' });
  const listed = orphans.locator(`tr[data-pid="${orphan}"]`);
  await expect(listed).toContainText(ORPHAN_RUN);
  await expect(listed).toContainText(/the Engine that started it \(process \d+\) is gone/);
  await page.setViewportSize({ width: 1024, height: 900 });
  await shot(page, '1-orphan-1024-light');
  await listed.getByRole('button', { name: `Kill orphan ${orphan}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Kill this orphan?' });
  await expect(dialog).toContainText(`SIGKILL to process group ${orphan}`);
  await shot(page, '2-kill-confirm');
  expect(isAlive(orphan!)).toBe(true); // nothing happens before the confirm
  await dialog.getByRole('button', { name: 'Kill process group' }).click();
  await expect(orphans.getByText(`Process group ${orphan} killed`)).toBeVisible();
  await expect(orphans).toContainText(`sent SIGKILL to process group ${orphan}`);
  await expect.poll(() => isAlive(orphan!), { message: 'the orphan has ended' }).toBe(false);
  await expect(listed).toHaveCount(0);
  await expect(orphans).toContainText('None: every Headroom process found serves a live run.');
  await shot(page, '3-killed');
});

for (const theme of ['light', 'dark'] as const) {
  test(`the GPUs view passes axe in the ${theme} theme at 1024 px`, async ({ page }) => {
    await page.setViewportSize({ width: 1024, height: 900 });
    await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' });
    await openGpus(page);
    await expect(page.getByRole('region', { name: 'GPU 1', exact: true })).toBeVisible();
    await expect.poll(async () => Number(await page.getByRole('img', { name: 'GPU memory' }).getAttribute('data-points'))).toBeGreaterThan(1);
    await shot(page, `4-${theme}-1024`);
    expect(await seriousViolations(page)).toEqual([]);
    // Nothing wider than the window: no sideways scroll of the page at 1024 px.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
  });
}

test('the New run form’s Workers and VRAM guard fields: refusals under their fields, then a run on cpu,cpu with both workers shown', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-workers-e2e-'));
  const corpus = join(dir, 'demo-60.jsonl');
  writeFileSync(corpus, `${readFileSync(join(ROOT, '.headroom', 'demo-corpus.jsonl'), 'utf8').split('\n').slice(0, 60).join('\n')}\n`);
  await page.setViewportSize({ width: 1024, height: 900 });
  await page.goto(url);
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'New run', exact: true }).click();
  await expect(page.getByLabel('Model 1', { exact: true })).not.toHaveValue('');
  await page.getByLabel('Input file').fill(corpus);
  await page.getByLabel('Chunk size (documents)').fill('10');
  const workers = page.getByLabel('Workers');
  await workers.fill('cpu,gpu1');
  await page.getByLabel('VRAM warning (%)').fill('120');
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(page.getByText('"gpu1": a worker device is cpu or cuda:N')).toBeVisible();
  await expect(page.getByText('a percent above 0 and at most 100')).toBeVisible();
  await page.getByLabel('VRAM warning (%)').fill('95');
  await page.getByLabel('VRAM critical (%)').fill('90');
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(page.getByText('the warning level is not below the critical level')).toBeVisible(); // the schema's own check, under its field
  await shot(page, '5-form-refusals');
  expect(runFolders(runsDir)).toEqual([]); // nothing was created (.gpus: the monitor's history)

  // Past the form's own check, the Engine's: a GPU this machine does not have, refused under the same field.
  await workers.fill('cuda:7');
  await page.getByLabel('VRAM warning (%)').fill('80');
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(workers).toHaveAttribute('aria-invalid', 'true');
  const refusal = page.locator(`#${await workers.getAttribute('aria-describedby').then((ids) => ids!.split(' ').find((id) => id.endsWith('-error')))}`);
  await expect(refusal).toContainText('cuda:7');
  await shot(page, '5b-form-engine-refusal');
  expect(runFolders(runsDir)).toEqual([]);

  await workers.fill('cpu,cpu');
  await page.getByRole('radiogroup', { name: 'At critical' }).getByText('pause run').click();
  await page.getByRole('button', { name: 'Start run' }).click();
  const status = page.getByRole('status', { name: 'Run status' });
  await expect(status).toHaveText(/running|done/, { timeout: 120_000 }); // creation checks the model in a fresh runtime
  const card = page.getByRole('table', { name: 'Workers' });
  await expect(card.locator('tr[data-worker]')).toHaveCount(2, { timeout: 120_000 });
  await expect(card.locator('tr[data-worker="w0"] td').nth(1)).toHaveText('cpu');
  await expect(card.locator('tr[data-worker="w1"] td').nth(1)).toHaveText('cpu');
  await expect(status).toHaveText('done', { timeout: 300_000 });
  await expect(card.locator('tr[data-worker="w0"]')).toHaveAttribute('data-state', 'done');
  await expect(card.locator('tr[data-worker="w1"]')).toHaveAttribute('data-state', 'done');
  const units = await Promise.all(['w0', 'w1'].map(async (w) => Number(await card.locator(`tr[data-worker="${w}"]`).getAttribute('data-units'))));
  expect(units[0]! + units[1]!).toBe(6); // 60 documents in chunks of 10, one model
  await shot(page, '6-run-two-workers-done');

  // What the form asked for is what the run was made with.
  const [runId] = runFolders(runsDir);
  const spec = JSON.parse(readFileSync(join(runsDir, runId!, 'run.json'), 'utf8')) as { spec?: Record<string, unknown> } & Record<string, unknown>;
  expect(spec.spec ?? spec).toMatchObject({ workers: ['cpu', 'cpu'], vramWarning: 0.8, vramCritical: 0.9, onCritical: 'pause' });
  // The run view draws the run's own levels once its settings in force carry them (contract: EmbedSettingsInForce).
  if ('vramWarning' in EmbedSettingsInForce.shape) await expect(page.locator('[data-levels]')).toHaveAttribute('data-levels', '0.8 0.9 pause');

  // The guard's warnings, from disk: the page reloaded rebuilds the run view from its history; each is the journal's, by worker.
  const journal = readFileSync(join(runsDir, runId!, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; level?: string; worker?: string });
  const crossed = journal.filter((record) => record.type === 'vram_level').map((record) => `${record.level} ${record.worker}`);
  expect(crossed.length).toBeGreaterThan(0);
  await page.reload();
  await page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${runId}"]`).click();
  await expect(status).toHaveText('done');
  const events = page.getByRole('table', { name: 'Guard and health events' }).locator('tr[data-kind]');
  await expect(events).toHaveCount(crossed.length);
  expect((await events.evaluateAll((rows) => rows.map((row) => `${row.getAttribute('data-kind')} ${row.getAttribute('data-worker')}`))).sort()).toEqual(crossed.sort());
  await expect(page.getByRole('table', { name: 'Guard and health events' })).toContainText(/VRAM warning: 8\d% of .* in use/);
  await shot(page, '7-guard-from-history');

  // The workers' memory and batch size, from disk too (the Engine has no live figures for a finished run): each
  // worker's last recorded, said to be the run's end; never "—" for a worker that did work.
  await expect(card.getByRole('columnheader', { name: 'Memory at end' })).toBeVisible();
  for (const [i, w] of ['w0', 'w1'].entries()) {
    const cells = card.locator(`tr[data-worker="${w}"] td`);
    await expect(cells.nth(4)).toHaveText(/^[\d.]+ [KMG]iB$/); // memory
    await expect(cells.nth(5)).toHaveText(/^[\d.]+ [KMG]iB$/); // peak
    if (units[i]! > 0) await expect(cells.nth(6)).toHaveText(/^\d+ docs$/);
  }
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.getByRole('region', { name: 'Workers' }).screenshot({ path: join(SHOTS, `gpus-8-workers-at-end-${theme}.png`) });
  }
});

