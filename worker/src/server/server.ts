/**
 * `headroom serve`: the built renderer over HTTP and the panel API over one
 * WebSocket, for boxes with no desktop. Loopback by default; every call needs the
 * token printed with the URL (compared in constant time, never handed out by any
 * endpoint); Host is checked on every request and Origin on every WebSocket
 * handshake, so DNS rebinding and cross-site pages get nothing (the gaps Ray's
 * dashboard was exploited through).
 *
 * Stays up: no request line, path, header, upgrade or message stops it. Paths are
 * read without `new URL` (requestTarget.ts), every handler is wrapped, and every
 * request, response and socket has an `error` listener; a bad request gets 4xx.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { HeadroomError } from '../errors.js';
import type { RunManager } from '../panel/runManager.js';
import { connect, MAX_MESSAGE_BYTES } from './apiSocket.js';
import { allowedHosts, hostOf, isLoopback, urlHost } from './hosts.js';
import { parseTarget } from './requestTarget.js';
import { assetFile, CONTENT_SECURITY_POLICY, CONTENT_TYPES } from '../assets/webAssets.js';

export { isLoopback } from './hosts.js';

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
  /** Where a handler's unexpected failure is reported (it is answered, never thrown); stderr by default. */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  // Hash both so lengths match; timingSafeEqual then compares in constant time.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

const ignore = (): void => {};
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A raw HTTP answer on a socket that is not (or no longer) a ServerResponse; the socket goes once it is flushed. */
function endSocket(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  if (!isLoopback(options.host) && !options.allowRemote) {
    throw new HeadroomError('usage', `refusing to listen on ${options.host}: the panel controls this machine's GPU jobs; bind to 127.0.0.1 (the default) and tunnel, or pass --allow-remote if the network is yours`);
  }
  const log = options.log ?? ((line: string) => void process.stderr.write(`headroom serve: ${line}\n`));
  const token = options.token ?? randomBytes(32).toString('base64url');
  const staticDir = resolve(options.staticDir);
  let hosts = new Set<string>();
  let origins = new Set<string>();

  const http = createServer((request, response) => {
    request.on('error', ignore);
    response.on('error', ignore);
    try {
      if (!hosts.has(hostOf(request.headers.host))) return refuse(response, 421, 'unknown Host');
      if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'method not allowed');
      const target = parseTarget(request.url);
      if (target === null) return refuse(response, 400, 'bad request target');
      serveStatic(request, response, staticDir, target.pathname);
    } catch (error) {
      log(`request ${JSON.stringify(request.url)} failed: ${messageOf(error)}`);
      if (!response.headersSent) refuse(response, 500, 'internal error');
      else response.destroy();
    }
  });
  // A request line or header Node cannot parse: 400 (431 for oversized headers), then the socket goes.
  http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    socket.on('error', ignore);
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
    if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) {
      socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  wss.on('error', (error) => log(`WebSocket server error: ${messageOf(error)}`));
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node removes its own listener from an upgraded socket: without this a reset kills the process.
    socket.on('error', ignore);
    request.on('error', ignore);
    try {
      if (!hosts.has(hostOf(request.headers.host))) return endSocket(socket, 421, 'Misdirected Request');
      if (!origins.has(hostOf(request.headers.origin) || 'null')) return endSocket(socket, 403, 'Forbidden');
      const target = parseTarget(request.url);
      if (target === null) return endSocket(socket, 400, 'Bad Request');
      if (target.pathname !== '/api') return endSocket(socket, 404, 'Not Found');
      if (!sameToken(target.query.get('token'), token)) return endSocket(socket, 401, 'Unauthorized');
      wss.handleUpgrade(request, socket, head, (ws) => connect(ws, options.manager, log));
    } catch (error) {
      log(`upgrade ${JSON.stringify(request.url)} failed: ${messageOf(error)}`);
      endSocket(socket, 500, 'Internal Server Error');
    }
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    http.once('error', rejectListen);
    http.listen(options.port, options.host, () => {
      http.off('error', rejectListen);
      http.on('error', (error) => log(`server error: ${messageOf(error)}`)); // e.g. EMFILE on accept
      resolveListen();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const bound = typeof address === 'object' && address ? address.address : options.host;
  hosts = allowedHosts(options.host, bound, port);
  origins = new Set([...hosts].map((host) => `http://${host}`));
  return {
    // An IP is printed as bound (canonical, e.g. [::1]); a name as given.
    url: `http://${urlHost(options.host.toLowerCase() === 'localhost' ? options.host : bound)}:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((done) => http.close(() => done()));
      http.closeAllConnections();
      await closed;
    },
  };
}

function refuse(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  response.end(`${message}\n`);
}

function serveStatic(request: IncomingMessage, response: ServerResponse, root: string, pathname: string): void {
  const file = assetFile(root, pathname);
  if (file === null) {
    if (!existsSync(join(root, 'index.html'))) return refuse(response, 503, 'the panel is not built: run `npm run build:renderer`');
    return refuse(response, 404, 'not found');
  }
  const body = request.method === 'HEAD' ? undefined : readFileSync(file);
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  response.end(body);
}
