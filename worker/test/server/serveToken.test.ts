/**
 * `headroom serve --port N` keeps its token in the per-user config folder (mode 600), so a tab
 * opened before a restart on the same port is let in again; --new-token and a random port give
 * a new one; a kept file that is readable by others, a link or garbage is replaced, not trusted.
 * Real servers on a real port, real WebSocket handshakes.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RunManager } from '../../src/panel/runManager.js';
import { serve } from '../../src/server/server.js';
import { configDir, serveToken } from '../../src/server/serveToken.js';
import { tempDir } from '../helpers.js';

let manager: RunManager;
let site: string;

beforeAll(() => {
  const dir = tempDir();
  site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>panel</title>');
  manager = new RunManager({ runsDir: join(dir, 'runs'), monitorGpus: false });
});
afterAll(() => manager.close());

/** A port that was free a moment ago: what a user picks for --port N. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The HTTP status the API handshake with `token` gets: 101 when let in. */
function handshake(port: number, token: string): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/api?token=${encodeURIComponent(token)}`, { headers: { origin: `http://127.0.0.1:${port}` } });
  return new Promise((resolve) => {
    socket.on('open', () => (socket.close(), resolve(101)));
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('error', () => resolve(0));
  });
}

/** One `headroom serve --port N [--new-token]` start as servePanel does it: the token, then the server. */
async function start(port: number, dir: string, options: { newToken?: boolean; said?: string[] } = {}) {
  const kept = serveToken({ port, newToken: options.newToken ?? false, dir, log: (line) => options.said?.push(line) });
  const server = await serve({ host: '127.0.0.1', port, allowRemote: false, manager, staticDir: site, token: kept.token });
  return { ...kept, server };
}

describe('a fixed port keeps its token across a restart', () => {
  it('the same token is let in after a restart with the same config folder; the file is mode 600', async () => {
    const port = await freePort();
    const dir = join(tempDir(), 'config', 'headroom');
    const first = await start(port, dir);
    expect(await handshake(port, first.token)).toBe(101);
    await first.server.close();
    expect(first.file).toBe(join(dir, `serve-token-${port}`));
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(first.file!, 'utf8').trim()).toBe(first.token);

    const again = await start(port, dir);
    try {
      expect(again.token).toBe(first.token);
      expect(again.server.url).toBe(first.server.url); // the old tab's URL works unchanged
      expect(await handshake(port, first.token)).toBe(101);
    } finally {
      await again.server.close();
    }
  });

  it('--new-token refuses the old token (401) and keeps the new one', async () => {
    const port = await freePort();
    const dir = tempDir();
    const first = await start(port, dir);
    await first.server.close();
    const said: string[] = [];
    const renewed = await start(port, dir, { newToken: true, said });
    try {
      expect(renewed.token).not.toBe(first.token);
      expect(await handshake(port, first.token)).toBe(401);
      expect(await handshake(port, renewed.token)).toBe(101);
      expect(said.join('\n')).toContain('--new-token');
      expect(readFileSync(renewed.file!, 'utf8').trim()).toBe(renewed.token);
    } finally {
      await renewed.server.close();
    }
  });

  it('a random port gets a fresh token each start and writes nothing', () => {
    const dir = join(tempDir(), 'never-made');
    const a = serveToken({ port: 0, newToken: false, dir, log: () => {} });
    const b = serveToken({ port: 0, newToken: false, dir, log: () => {} });
    expect(a.file).toBeNull();
    expect(a.token).not.toBe(b.token);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(() => lstatSync(dir)).toThrow();
  });
});

describe('a kept token is trusted only when it is safe', () => {
  const port = 8765;
  const cases: [string, (file: string) => void, RegExp][] = [
    ['readable by others', (file) => (writeFileSync(file, `${'a'.repeat(43)}\n`), chmodSync(file, 0o644)), /others may read it \(mode 644, not 600\)/],
    ['garbage', (file) => (writeFileSync(file, 'not a token\n'), chmodSync(file, 0o600)), /holds no token of the form Headroom writes/],
    ['a link', (file) => symlinkSync('/etc/hostname', file), /not a regular file/],
  ];
  for (const [name, plant, says] of cases) {
    it.runIf(process.platform !== 'win32')(`replaces one that is ${name}, saying why`, () => {
      const dir = tempDir();
      const file = join(dir, `serve-token-${port}`);
      plant(file);
      const said: string[] = [];
      const got = serveToken({ port, newToken: false, dir, log: (line) => said.push(line) });
      expect(got.token).not.toBe('a'.repeat(43));
      expect(said.join('\n')).toMatch(says);
      expect(lstatSync(file).isFile()).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(got.token);
      expect(serveToken({ port, newToken: false, dir, log: () => {} }).token).toBe(got.token); // now kept
    });
  }
});

it('refuses a folder where the token file goes, naming it (a folder is never deleted)', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'serve-token-8765'));
  expect(() => serveToken({ port: 8765, newToken: false, dir, log: () => {} })).toThrow(/serve-token-8765 is a folder where headroom serve keeps its token/);
});

describe('configDir', () => {
  it('is HEADROOM_CONFIG_DIR, else the platform\'s per-user config folder', () => {
    expect(configDir({ HEADROOM_CONFIG_DIR: '/x/y' }, 'linux')).toBe('/x/y');
    expect(configDir({ XDG_CONFIG_HOME: '/home/u/.cfg' }, 'linux')).toBe('/home/u/.cfg/headroom');
    expect(configDir({}, 'linux')).toMatch(/\.config\/headroom$/);
    expect(configDir({}, 'darwin')).toMatch(/Library\/Application Support\/Headroom$/);
    expect(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toMatch(/Roaming.Headroom$/);
  });
});
