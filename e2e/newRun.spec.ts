/**
 * A first run from the form, in Debian's Chromium against a real `headroom serve`
 * and the real runtime: a corpus whose text is under another field name runs after
 * its field is chosen in the preview; the form keeps what was typed across views;
 * a typo in a model name is refused next to "Model 1" and creates no run folder.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { serve, runFolders } from './serve.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

let server: ChildProcess;
let url: string;
let runsDir: string;
let corpus: string;

test.beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-new-'));
  runsDir = join(dir, 'runs');
  corpus = join(dir, 'notes.jsonl');
  writeFileSync(corpus, `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ ref: `note-${i}`, body: `a short note, number ${i}` })).join('\n')}\n`);
  ({ process: server, url } = await serve(['--port', '0', '--runs-dir', runsDir], { HEADROOM_CACHE_DIR: join(dir, 'cache') }));
});

test.afterAll(() => {
  server?.kill('SIGTERM');
});

const nav = (page: Page, name: string) => page.getByRole('button', { name, exact: true }).first();

test('the text under another field: chosen in the preview, kept across views, the run reaches done', async ({ page }) => {
  await page.goto(url);
  await expect(page.getByText('connected')).toBeVisible();
  await nav(page, 'New run').click();
  await page.getByLabel('Input file').fill(corpus);

  const preview = page.getByRole('table', { name: 'First records' });
  await expect(preview).toContainText('a short note, number 0');
  await expect(page.getByText('8 documents; the first 5 shown')).toBeVisible();
  const textField = page.getByRole('textbox', { name: 'Text field', exact: true });
  await expect(textField).toHaveValue('text'); // the CLI's default
  await expect(textField).toHaveAccessibleDescription(/no record among the first 5 has a field "text": click one in the preview/);

  await page.getByRole('button', { name: 'Use field "body"' }).click();
  await expect(textField).toHaveValue('body');
  await page.getByRole('button', { name: 'Use field "ref"' }).click(); // the next click chooses the id
  await expect(page.getByRole('textbox', { name: 'ID field', exact: true })).toHaveValue('ref');
  await page.getByLabel('Name', { exact: true }).fill('Team notes');
  await expect(page.getByLabel('Chunk size (documents)')).toHaveValue('1000'); // the CLI's default

  // Away and back: the form is as it was left.
  await nav(page, 'Runs').click();
  await nav(page, 'New run').click();
  await expect(page.getByRole('textbox', { name: 'Text field', exact: true })).toHaveValue('body');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Team notes');
  await expect(page.getByRole('table', { name: 'First records' })).toBeVisible();
  await page.screenshot({ path: join(ROOT, 'e2e', 'screenshots', 'new-run-preview.png'), fullPage: true });

  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(page.getByRole('status', { name: 'Run status' })).toHaveText('done', { timeout: 300_000 });
  const [runId] = runFolders(runsDir);
  const manifest = JSON.parse(readFileSync(join(runsDir, runId!, 'run.json'), 'utf8')) as { name: string; spec: { textField: string; idField: string } };
  expect(manifest).toMatchObject({ name: 'Team notes', spec: { textField: 'body', idField: 'ref' } });
  expect(readFileSync(join(runsDir, runId!, 'ids.txt'), 'utf8').split('\n')[0]).toBe('note-0');
});

test('a typo in a model name is refused next to "Model 1", and no run folder is created', async ({ page }) => {
  const before = runFolders(runsDir);
  await page.goto(url);
  await expect(page.getByText('connected')).toBeVisible();
  await nav(page, 'New run').click();
  await page.getByLabel('Input file').fill(corpus);
  await page.getByRole('button', { name: 'Use field "body"' }).click();
  const model = page.getByLabel('Model 1', { exact: true });
  await model.fill('sentence-transformers/all-MiniLM-L6-v3');
  await page.getByRole('button', { name: 'Start run' }).click();
  await expect(model).toHaveAttribute('aria-invalid', 'true');
  await expect(model).toHaveAccessibleDescription(/'sentence-transformers\/all-MiniLM-L6-v3' is neither a folder nor in the local Hugging Face cache.*did you mean sentence-transformers\/all-MiniLM-L6-v2\?/);
  await expect(page.getByText(/--model|--text-field/)).toHaveCount(0); // the form's words, not the CLI's
  await page.screenshot({ path: join(ROOT, 'e2e', 'screenshots', 'new-run-model-typo.png'), fullPage: true });
  expect(runFolders(runsDir)).toEqual(before);
});
