/**
 * `headroom serve` refuses what it must: calls without the token, foreign Host
 * headers (DNS rebinding), WebSocket upgrades from foreign or null Origins, bad
 * arguments (a clear error, nothing started), and a non-loopback bind unless asked.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLS, type CallName } from '../../src/contract/api.js';
import { ServerMessage, type Answer, type CallMessage } from '../../src/contract/wire.js';
import { WebSocket } from 'ws';
import { serve, type RunningServer } from '../../src/server/server.js';
import { RunManager } from '../../src/panel/runManager.js';
import { isAlive, startCli, tempDir } from '../helpers.js';
import { ApiClient, rawExchange } from '../server/fuzzInputs.js';

let server: RunningServer;
let manager: RunManager;
let runsDir: string;

beforeAll(async () => {
  const dir = tempDir();
  runsDir = join(dir, 'runs');
  const site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>panel</title>');
  manager = new RunManager({ runsDir, monitorGpus: false });
  server = await serve({ host: '127.0.0.1', port: 0, allowRemote: false, manager, staticDir: site });
});

afterAll(async () => {
  await server.close();
  await manager.close();
});

function get(path: string, host: string, onHeaders?: (headers: Record<string, unknown>) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host } }, (res) => {
      res.resume();
      onHeaders?.(res.headers);
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the API socket; resolves with the socket, or with the HTTP status it was refused with. */
function connect(options: { token?: string; origin?: string | null; host?: string }): Promise<WebSocket | number> {
  const host = options.host ?? `127.0.0.1:${server.port}`;
  const headers: Record<string, string> = { host };
  const origin = options.origin === undefined ? `http://127.0.0.1:${server.port}` : options.origin;
  if (origin !== null) headers.origin = origin;
  const query = options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`;
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { headers });
  return new Promise((resolve) => {
    socket.on('open', () => resolve(socket));
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('error', () => resolve(0));
  });
}

/** One call over the socket; every message that comes back must be the contract's envelope, and a result's value the call's result. */
function call(socket: WebSocket, name: string, args: unknown): Promise<Answer & { error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 1e9);
    const onMessage = (data: Buffer): void => {
      const message = ServerMessage.parse(JSON.parse(String(data)));
      if (message.type === 'result' && message.id === id) {
        socket.off('message', onMessage);
        if (message.ok && name in CALLS) CALLS[name as CallName].result.parse(message.result);
        resolve(message);
      }
    };
    socket.on('message', onMessage);
    socket.send(JSON.stringify({ type: 'call', id, name, args } satisfies CallMessage));
  });
}

describe('headroom serve', () => {
  it('prints a loopback URL carrying a long random token', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/#token=[A-Za-z0-9_-]{40,}$`));
  });

  it('serves the panel to its own Host only', async () => {
    let headers: Record<string, unknown> = {};
    expect(await get('/', `127.0.0.1:${server.port}`, (h) => (headers = h))).toBe(200);
    expect(headers['content-security-policy']).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(await get('/', `localhost:${server.port}`)).toBe(200);
    expect(await get('/', `evil.example:${server.port}`)).toBe(421); // DNS rebinding
    expect(await get('/', '127.0.0.1:1')).toBe(421);
    expect(await get('/../../etc/passwd', `127.0.0.1:${server.port}`)).toBe(404);
    expect(await get('/%E0%A4%A', `127.0.0.1:${server.port}`)).toBe(404); // a malformed escape, not a crash
  });

  it('refuses the API without the right token, from a foreign or null Origin, or a foreign Host', async () => {
    expect(await connect({})).toBe(401);
    expect(await connect({ token: 'wrong' })).toBe(401);
    expect(await connect({ token: `${server.token}x` })).toBe(401);
    expect(await connect({ token: server.token, origin: 'http://evil.example' })).toBe(403);
    expect(await connect({ token: server.token, origin: 'null' })).toBe(403);
    expect(await connect({ token: server.token, origin: null })).toBe(403);
    expect(await connect({ token: server.token, host: `evil.example:${server.port}` })).toBe(421);
    const socket = await connect({ token: server.token });
    expect(socket).toBeInstanceOf(WebSocket);
    (socket as WebSocket).close();
  });

  it('answers calls, and refuses invalid arguments and unknown calls with a clear error, starting nothing', async () => {
    const socket = (await connect({ token: server.token })) as WebSocket;
    expect(await call(socket, 'listRuns', {})).toMatchObject({ ok: true, result: [] });
    const bad = await call(socket, 'startRun', { input: '', models: [], chunkSize: -5 });
    expect(bad.ok).toBe(false);
    expect(bad.error?.code).toBe('bad_args');
    expect(bad.error?.message).toMatch(/input: choose an input file/);
    expect(bad.error?.message).toMatch(/models: add at least one model/);
    expect(bad.error?.message).toMatch(/chunkSize/);
    const extra = await call(socket, 'pauseRun', { runId: '../../etc', evil: true });
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad_args' } });
    const missing = await call(socket, 'startRun', { input: join(runsDir, 'nope.jsonl'), models: [{ model: 'x' }] });
    expect(missing).toMatchObject({ ok: false, error: { code: 'bad_input' } });
    expect(missing.error?.message).toMatch(/nope\.jsonl/);
    const partial = await call(socket, 'startRun', { input: join(runsDir, 'x.jsonl'), models: [{ model: 'a', weight: 1 }, { model: 'b' }] });
    expect(partial).toMatchObject({ ok: false, error: { code: 'bad_args', message: 'startRun: models: give every model a weight, or none (equal weights)' } });
    expect(await call(socket, 'rmEverything', {})).toMatchObject({ ok: false, error: { code: 'unknown_call', message: 'unknown call "rmEverything"' } });
    expect(await call(socket, '__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown_call' } });
    expect(existsSync(runsDir) ? readdirSync(runsDir) : []).toEqual([]);
    socket.close();
  });

  it('refuses to bind beyond loopback unless asked explicitly', async () => {
    await expect(serve({ host: '0.0.0.0', port: 0, allowRemote: false, manager, staticDir: runsDir })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0/);
  });
});

/** GET `url` with the Host header a browser would send for it. */
function getUrl(url: string): Promise<number> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname.replace(/^\[|\]$/g, ''), port, path: pathname, headers: { host: new URL(url).host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('headroom serve on other loopback addresses', () => {
  // The printed URL must work (127.0.0.2 used to answer its own URL with 421); IPv6 forms print canonical.
  for (const host of ['127.0.0.2', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', 'localhost']) {
    it(`answers its own printed URL and API when bound to ${host}`, async () => {
      const site = join(tempDir(), 'site');
      mkdirSync(site);
      writeFileSync(join(site, 'index.html'), '<!doctype html>');
      const other = await serve({ host, port: 0, allowRemote: false, manager, staticDir: site });
      try {
        expect(other.url).not.toMatch(/0:0:0/);
        expect(await getUrl(other.url)).toBe(200);
        const { host: authority, hostname } = new URL(other.url);
        const socket = new WebSocket(`ws://${authority}/api?token=${other.token}`, { headers: { origin: `http://${authority}` } });
        await new Promise((resolve, reject) => {
          socket.on('open', resolve);
          socket.on('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode} on ${hostname}`)));
        });
        socket.close();
      } finally {
        await other.close();
      }
    });
  }

  it('`headroom serve --host 127.0.0.2` prints a URL that answers (not 421)', async () => {
    const child = startCli(['serve', '--host', '127.0.0.2', '--port', '0', '--runs-dir', join(tempDir(), 'runs')]);
    try {
      const url = await printedUrl(child);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/#token=/);
      expect([200, 503]).toContain(await getUrl(url)); // 503: the renderer is not built in this checkout
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});

function printedUrl(child: ReturnType<typeof startCli>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += String(data);
      const line = out.split('\n').find((l) => l.startsWith('http://'));
      if (line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`headroom serve exited with ${code}`)));
  });
}

describe('the headroom serve process', () => {
  it('outlives `//`, an upgrade to `//` from a foreign page, a message null and one over 1 MB (each used to kill it)', async () => {
    const child = startCli(['serve', '--port', '0', '--runs-dir', join(tempDir(), 'runs')]);
    try {
      const url = new URL(await printedUrl(child));
      const target = { port: Number(url.port), token: url.hash.replace('#token=', '') };
      const host = `127.0.0.1:${target.port}`;
      const get = (path: string, extra = ''): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`);
      expect([404, 503]).toContain((await rawExchange(target.port, get('//'), { halfClose: true })).status); // 503: renderer not built
      const upgrade = 'Origin: http://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
      expect((await rawExchange(target.port, get('//', upgrade), { halfClose: true })).status).toBe(403);
      const client = await ApiClient.open(target);
      expect(await client.send('null')).toMatchObject({ ok: false, error: { code: 'bad_args' } });
      await expect(client.send('x'.repeat(1024 * 1024 + 1))).rejects.toThrow(/closed \(1009\)/);
      expect(isAlive(child.pid!)).toBe(true);
      const fresh = await ApiClient.open(target);
      expect(await fresh.call('listRuns', {})).toMatchObject({ ok: true, result: [] });
      fresh.close();
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});
