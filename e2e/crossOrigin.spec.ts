/**
 * A web page on another origin attacks the panel from Chromium (issue 9, class 1):
 * it holds `<img src="http://127.0.0.1:PORT//">` (which used to kill `headroom
 * serve`), fetches `//`, and opens WebSockets to the panel's API, one of them with
 * the real token (as if it had leaked). Afterwards the server still answers and
 * every foreign WebSocket was refused: none opened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { WebSocket } from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

let panel: ChildProcess;
let panelUrl: URL;
let token: string;
let foreign: Server;
let foreignPort: number;

function attackPage(port: number, realToken: string): string {
  const base = `127.0.0.1:${port}`;
  const sockets = [`ws://${base}/api?token=${realToken}`, `ws://${base}/api?token=guess`, `ws://${base}//`, `ws://${base}//api?token=${realToken}`, `ws://localhost:${port}/api?token=${realToken}`];
  return `<!doctype html><title>not the panel</title>
<img src="http://${base}//"><img src="http://${base}//..//"><img src="http://${base}/%"><img src="http://${base}//x:y">
<script>
  window.results = [];
  fetch('http://${base}//', { mode: 'no-cors' }).catch(() => {});
  fetch('http://${base}/api?token=${realToken}', { mode: 'no-cors' }).catch(() => {});
  for (const url of ${JSON.stringify(sockets)}) {
    const socket = new WebSocket(url);
    socket.onopen = () => { window.results.push({ url, opened: true }); socket.send('null'); };
    socket.onclose = (event) => window.results.push({ url, closed: event.code });
  }
</script>`;
}

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test.beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-e2e-cross-'));
  panel = spawn(process.execPath, [join(ROOT, 'bin', 'headroom.mjs'), 'serve', '--port', '0', '--runs-dir', join(dir, 'runs')], {
    env: { ...process.env, HEADROOM_CACHE_DIR: join(dir, 'cache') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  panelUrl = await new Promise<URL>((resolve, reject) => {
    panel.stdout!.on('data', (data: Buffer) => {
      const line = String(data).split('\n').find((l) => l.startsWith('http://'));
      if (line) resolve(new URL(line.trim()));
    });
    panel.once('exit', (code) => reject(new Error(`headroom serve exited with ${code}`)));
  });
  token = panelUrl.hash.replace('#token=', '');
  foreign = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(attackPage(Number(panelUrl.port), token));
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  foreignPort = (foreign.address() as { port: number }).port;
});

test.afterAll(() => {
  panel?.kill('SIGTERM');
  foreign?.close();
});

test('a page from another origin cannot kill the panel server nor open its API', async ({ page }) => {
  await page.goto(`http://127.0.0.1:${foreignPort}/`);
  // Every socket the page opened has closed (refused in the handshake), none opened.
  await expect.poll(() => page.evaluate(() => (window as unknown as { results: unknown[] }).results.length)).toBe(5);
  const results = await page.evaluate(() => (window as unknown as { results: { url: string; opened?: boolean; closed?: number }[] }).results);
  expect(results.filter((result) => result.opened)).toEqual([]);
  for (const result of results) expect(result.closed).toBe(1006); // the browser's code for a refused handshake
  await page.reload(); // and once more, the images and fetches again
  await expect.poll(() => page.evaluate(() => (window as unknown as { results: unknown[] }).results.length)).toBe(5);

  expect(panel.exitCode).toBeNull();
  expect([200, 503]).toContain(await get(`http://127.0.0.1:${panelUrl.port}/`, panelUrl.host)); // 503 only when the renderer is not built
  const own = new WebSocket(`ws://${panelUrl.host}/api?token=${token}`, { headers: { origin: `http://${panelUrl.host}` } });
  const answer = await new Promise<unknown>((resolve, reject) => {
    own.on('open', () => own.send(JSON.stringify({ type: 'call', id: 1, name: 'listRuns', args: {} })));
    own.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'result') resolve(message); // not an event (gpuSample)
    });
    own.on('error', reject);
  });
  expect(answer).toMatchObject({ type: 'result', id: 1, ok: true, result: [] });
  own.close();
});
