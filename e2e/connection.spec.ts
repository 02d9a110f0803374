/**
 * A tab loses `headroom serve` and gets it back (issue 11, item 8): the server on a fixed port
 * is SIGKILLed, the tab says it lost the connection and greys its badge; the server starts
 * again on the same port (its token kept in the config folder) and the tab reconnects by
 * itself; restarted with --new-token, the tab says it is refused and how to get the new URL,
 * and the new URL works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-connection-'));
let server: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `headroom serve --port N` on the same runs and config folders; resolves with the URL it prints. */
function startServer(port: number, extra: string[] = []): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'headroom.mjs'), 'serve', '--port', String(port), '--runs-dir', join(dir, 'runs'), ...extra], {
    env: { ...process.env, HEADROOM_CONFIG_DIR: join(dir, 'config'), HEADROOM_CACHE_DIR: join(dir, 'cache') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  server = child;
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      const line = String(data).split('\n').find((l) => l.startsWith('http://'));
      if (line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`headroom serve exited with ${code}`)));
  });
}

function kill(signal: NodeJS.Signals): Promise<void> {
  const child = server!;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

test.afterAll(() => kill('SIGTERM'));

test('a tab shows a lost connection, reconnects to the same port, and is told when the token changed', async ({ page }) => {
  const port = await freePort();
  const url = await startServer(port);
  const origin = `http://127.0.0.1:${port}`;
  await page.goto(url);
  const badge = page.getByLabel(/^Connection: /);
  await expect(badge).toHaveText('connected');

  await kill('SIGKILL');
  const banner = page.getByTestId('connection-banner');
  await expect(banner).toContainText(`Lost the connection to Headroom at ${origin}; retrying…`);
  await expect(badge).toHaveText('reconnecting…');
  await page.screenshot({ path: join(ROOT, 'e2e', 'screenshots', 'connection-lost.png') });

  expect(await startServer(port)).toBe(url); // same port, same kept token: the same URL
  await expect(banner).toContainText(`Reconnected to Headroom at ${origin}`);
  await expect(badge).toHaveText('connected');
  await expect(banner).toBeHidden({ timeout: 15_000 });

  await kill('SIGTERM');
  const renewed = await startServer(port, ['--new-token']);
  expect(renewed).not.toBe(url);
  await expect(banner).toContainText(`Headroom at ${origin} is running but refuses this tab`);
  await expect(banner).toContainText('headroom serve');
  await expect(badge).toHaveText('disconnected');
  await page.screenshot({ path: join(ROOT, 'e2e', 'screenshots', 'connection-refused.png') });

  await page.goto(renewed);
  await expect(badge).toHaveText('connected');
  await expect(banner).toBeHidden();
});
