/**
 * `headroom serve`: the built renderer over HTTP and the panel API over one
 * WebSocket, for boxes with no desktop. Loopback by default; every call needs the
 * token printed with the URL (compared in constant time, never handed out by any
 * endpoint); Host is checked on every request and Origin on every WebSocket
 * handshake, so DNS rebinding and cross-site pages get nothing (the gaps Ray's
 * dashboard was exploited through).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, checkCall, EVENTS, type EventName } from '../contract/api.js';
import { HeadroomError } from '../errors.js';
import { redactDeep } from '../redact.js';
import type { RunManager } from '../service/runManager.js';
import { assetFile, CONTENT_SECURITY_POLICY, CONTENT_TYPES } from './webAssets.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** Needed to bind anything but loopback. */
  allowRemote: boolean;
  manager: RunManager;
  /** The built renderer (renderer/dist). */
  staticDir: string;
  /** For tests; otherwise 32 random bytes. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\./.test(host);

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  // Hash both so lengths match; timingSafeEqual then compares in constant time.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** The Host values this server answers to: its own name for itself, with the port. */
function allowedHosts(host: string, port: number): Set<string> {
  const names = isLoopback(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [isIP(host) === 6 ? `[${host}]` : host];
  return new Set(names.map((name) => `${name}:${port}`));
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  if (!isLoopback(options.host) && !options.allowRemote) {
    throw new HeadroomError('usage', `refusing to listen on ${options.host}: the panel controls this machine's GPU jobs; bind to 127.0.0.1 (the default) and tunnel, or pass --allow-remote if the network is yours`);
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const staticDir = resolve(options.staticDir);
  let hosts = new Set<string>();
  let origins = new Set<string>();

  const http = createServer((request, response) => {
    if (!hosts.has(request.headers.host ?? '')) return refuse(response, 421, 'unknown Host');
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'method not allowed');
    serveStatic(request, response, staticDir);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  http.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    const reject = (status: number, why: string): void => {
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hosts.has(request.headers.host ?? '')) return reject(421, 'Misdirected Request');
    if (!origins.has(request.headers.origin ?? 'null')) return reject(403, 'Forbidden');
    if (url.pathname !== '/api' || !sameToken(url.searchParams.get('token'), token)) return reject(401, 'Unauthorized');
    wss.handleUpgrade(request, socket, head, (ws) => connect(ws, options.manager));
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    http.once('error', rejectListen);
    http.listen(options.port, options.host, () => resolveListen());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  hosts = allowedHosts(options.host, port);
  origins = new Set([...hosts].map((host) => `http://${host}`));
  const shownHost = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((done) => http.close(() => done()));
    },
  };
}

function refuse(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${message}\n`);
}

function serveStatic(request: IncomingMessage, response: ServerResponse, root: string): void {
  const file = assetFile(root, new URL(request.url ?? '/', 'http://placeholder').pathname);
  if (file === null) {
    if (!existsSync(join(root, 'index.html'))) return refuse(response, 503, 'the panel is not built: run `npm run build:renderer`');
    return refuse(response, 404, 'not found');
  }
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : readFileSync(file));
}

interface CallMessage {
  type: 'call';
  id: number;
  name: string;
  args?: unknown;
}

/** One panel connection: calls in, results and events out. */
function connect(ws: WebSocket, manager: RunManager): void {
  const send = (message: unknown): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(redactDeep(message)));
  };
  const unsubscribe = (Object.keys(EVENTS) as EventName[]).map((name) => manager.on(name, (payload) => send({ type: 'event', name, payload })));
  ws.on('close', () => unsubscribe.forEach((off) => off()));
  ws.on('message', (data) => {
    let message: CallMessage;
    try {
      message = JSON.parse(String(data)) as CallMessage;
    } catch {
      send({ type: 'result', id: null, ok: false, error: { code: 'bad_args', message: 'a message must be JSON' } });
      return;
    }
    const id = typeof message.id === 'number' ? message.id : null;
    void answer(manager, message)
      .then((result) => send({ type: 'result', id, ok: true, result }))
      .catch((error: unknown) => {
        const failure = error instanceof ApiError ? error : new ApiError('internal', error instanceof Error ? error.message : String(error));
        send({ type: 'result', id, ok: false, error: { code: failure.code, message: failure.message } });
      });
  });
}

async function answer(manager: RunManager, message: CallMessage): Promise<unknown> {
  if (message?.type !== 'call' || typeof message.name !== 'string') throw new ApiError('bad_args', 'expected {type: "call", id, name, args}');
  const { name, args } = checkCall(message.name, message.args);
  return manager.call(name, args);
}
