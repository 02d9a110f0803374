/**
 * What the server fuzz throws at `headroom serve`, and the raw clients that throw
 * it: HTTP requests written byte for byte on a net.Socket (so `//`, `/%`,
 * absolute-form targets and broken headers reach the server unnormalised),
 * WebSocket frames written raw after a real handshake, and API messages of every
 * shape sent through an authenticated socket. Shared by the fuzz tests and
 * bench/serverFuzz.ts.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import fc from 'fast-check';
import { WebSocket } from 'ws';

/** What the fuzz knows of the server it aims at: generators take it so the good Host and token appear. */
export interface Target {
  port: number;
  token: string;
}

const seg = fc.constantFrom(
  '', '.', '..', '...', '%', '%2', '%2e', '%2E%2E', '%2f', '%5c', '%00', '%E0%A4%A', '%zz', '%%', '\\', '..\\', 'api', 'index.html', 'assets',
  '..%2f', '%c0%af', '~', ';', '@', ':', '::', '[', ']', '[::1', '{', '}', '|', '^', '`', '"', "'", '<', '>', 'é', '\u{1F600}', '\u0000',
  'x'.repeat(300), 'x:y', 'a@b', '%40', '?', '#', '&', '=', 'token=', '+', ' ',
);
const rawBytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes));
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength });

/** Request targets: structured paths of nasty segments, absolute-form, raw bytes, and the known killers. */
export function requestTarget(target: Target): fc.Arbitrary<Buffer> {
  const prefix = fc.constantFrom('/', '//', '///', '/./', '/../', 'http://x', `http://127.0.0.1:${target.port}`, 'http://', 'ws://', 'http://[', '//x:y', '//@', '//[::1', '*', 'x:80', '', '?', '#', '\\\\');
  const query = fc.oneof(fc.constant(''), fc.constant('?token='), fc.constant(`?token=${target.token}`), fc.constant(`?token=${target.token}x`), text(40).map((q) => `?${q}`));
  const structured = fc.tuple(prefix, fc.array(fc.oneof(seg, text(12)), { maxLength: 8 }), fc.constantFrom('', '/', '//', '/api'), query).map(([p, parts, tail, q]) => Buffer.from(`${p}${parts.join('/')}${tail}${q}`, 'utf8'));
  const known = fc.constantFrom('//', '//..//', '/%', '//..', '/..//', 'http://x/', '//x:y', '//%', '//[', '/api//', '//api', '/%E0%A4%A', `//api?token=${target.token}`, `/api?token=${target.token}`).map((s) => Buffer.from(s));
  return fc.oneof({ weight: 6, arbitrary: structured }, { weight: 2, arbitrary: known }, { weight: 1, arbitrary: rawBytes(120) });
}

const wsKey = fc.oneof(fc.constant(randomBytes(16).toString('base64')), text(30), fc.constant(''));

function header(target: Target): fc.Arbitrary<[string, Buffer | string]> {
  const good = `127.0.0.1:${target.port}`;
  const pick = (name: string, values: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> => values.map((value) => [name, value]);
  const named = fc.oneof(
    pick('Host', fc.constantFrom(good, `localhost:${target.port}`, `LOCALHOST:${target.port}`, `[::1]:${target.port}`, 'evil.example', '127.0.0.1', '', ` ${good}`, `${good}, evil`, '127.0.0.1:1')),
    pick('Origin', fc.constantFrom(`http://${good}`, 'http://evil.example', 'null', '', 'file://', `http://${good}/`, `HTTP://${good.toUpperCase()}`)),
    pick('Upgrade', fc.constantFrom('websocket', 'WebSocket', 'h2c', '', 'websocket, h2c')),
    pick('Connection', fc.constantFrom('Upgrade', 'upgrade, keep-alive', 'close', 'keep-alive', '')),
    wsKey.map((value): [string, string] => ['Sec-WebSocket-Key', value]),
    pick('Sec-WebSocket-Version', fc.constantFrom('13', '8', '', '13, 8', 'x')),
    pick('Sec-WebSocket-Extensions', fc.constantFrom('permessage-deflate', 'permessage-deflate; client_max_window_bits=99', 'x;;', '')),
    pick('Sec-WebSocket-Protocol', fc.constantFrom('a', 'a,,b', ' ', 'a b')),
    pick('Content-Length', fc.constantFrom('0', '5', '-1', 'abc', '99999999999999999999', '1,2', '')),
    pick('Transfer-Encoding', fc.constantFrom('chunked', 'chunked, gzip', 'x', '')),
    pick('Expect', fc.constantFrom('100-continue', 'x')),
  );
  return fc.oneof(
    { weight: 10, arbitrary: named },
    { weight: 1, arbitrary: fc.tuple(text(20), text(60)).map(([name, value]): [string, string] => [name, value]) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-Raw', 'Host', 'Cookie'), rawBytes(60)).map(([name, value]): [string, Buffer] => [name, value]) },
  );
}

/** A whole request as bytes: request line, headers, optional body; usually well framed, sometimes not. */
export function httpRequest(target: Target): fc.Arbitrary<Buffer> {
  // Mostly well framed, so that the server's own handlers (not only Node's parser) see the odd parts.
  const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'HEAD') }, fc.constantFrom('POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH', 'PRI', 'get', 'G ET', ''), text(8));
  const version = fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, fc.constantFrom('HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'http/1.1', 'HTTP/9.9', '', 'HTTP/1.1 x'));
  const eol = fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, fc.constantFrom('\n', '\r'));
  const defaults = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)); // the good Host and Origin first: deeper paths are reached
  return fc
    .record({ method, target: requestTarget(target), version, eol, defaults, headers: fc.array(header(target), { maxLength: 6 }), body: fc.oneof(fc.constant(Buffer.alloc(0)), rawBytes(64)) })
    .map(({ method: m, target: t, version: v, eol: e, defaults: d, headers, body }) => {
      const lines: Buffer[] = [Buffer.from(`${m} `), t, Buffer.from(` ${v}${e}`)];
      if (d) lines.push(Buffer.from(`Host: 127.0.0.1:${target.port}${e}Origin: http://127.0.0.1:${target.port}${e}`));
      for (const [name, value] of headers) lines.push(Buffer.from(`${name}: `), Buffer.from(value), Buffer.from(e));
      lines.push(Buffer.from(e), body);
      return Buffer.concat(lines);
    });
}

/** The requests that killed or could kill the old server, each as the raw bytes curl --path-as-is sends. */
export function knownNastyRequests(target: Target): Buffer[] {
  const host = `127.0.0.1:${target.port}`;
  const upgrade = (path: string, origin = `http://${host}`): string =>
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`;
  const paths = ['//', '//..//', '/%', '//..', 'http://x/', '//x:y', '//%', '//[', '//@', '*', '/%00', '/..%2f..%2fetc/passwd', '/%E0%A4%A', `//?token=${target.token}`, `//api?token=${target.token}`];
  return [
    ...paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
    ...paths.map((path) => upgrade(path)),
    ...paths.map((path) => upgrade(path, 'http://evil.example')), // what <img src="http://127.0.0.1:PORT//"> sends
    upgrade(`/api?token=${target.token}`, 'http://evil.example'),
    upgrade('/api?token=wrong'),
    `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `GET / HTTP/1.1\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nHost: evil.example\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
    `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    '\x00\x01\x02\xff\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n`,
  ].map((request) => Buffer.from(request, 'latin1'));
}

export interface RawAnswer {
  /** The status of the first response line, or null when the server closed without one. */
  status: number | null;
  /** Neither an answer nor a close within the time allowed. */
  hung: boolean;
}

/**
 * Writes `bytes` on a fresh connection and reads the first status line. With
 * `halfClose` the client then ends its side, so a server that waits for more
 * must answer or close; otherwise the client may reset after the first line.
 */
export function rawExchange(port: number, bytes: Buffer, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: RawAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const statusOf = (): number | null => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received.toString('latin1'));
      return match ? Number(match[1]) : null;
    };
    const timer = setTimeout(() => finish({ status: statusOf(), hung: statusOf() === null }), options.timeoutMs ?? 5000);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes('\r\n')) finish({ status: statusOf(), hung: false });
    });
    socket.on('close', () => finish({ status: statusOf(), hung: false }));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`the server at port ${port} refused a connection: it is down`));
      } else finish({ status: statusOf(), hung: false });
    });
  });
}

/** Statuses a bad or odd request may get; anything else (a 500, a hang) is a finding. */
export const ANSWERABLE = new Set([100, 101, 200, 400, 401, 403, 404, 405, 408, 417, 421, 431, 503]);

/** One WebSocket frame, written by hand so that every field can be wrong. */
const frame = fc
  .record({
    fin: fc.boolean(),
    rsv: fc.integer({ min: 0, max: 7 }),
    opcode: fc.oneof(fc.constantFrom(0x1, 0x2, 0x8, 0x9, 0xa, 0x0), fc.integer({ min: 0, max: 15 })),
    masked: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload: fc.oneof(rawBytes(200), fc.constant(Buffer.from('null')), fc.constant(Buffer.from([0xc3, 0x28]))),
    lengthForm: fc.constantFrom('exact', 'exact', 'short16', 'long64', 'huge64', 'lie'),
  })
  .map(({ fin, rsv, opcode, masked, payload, lengthForm }) => {
    const first = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
    const mask = masked ? 0x80 : 0;
    let lengthBytes: Buffer;
    if (lengthForm === 'huge64') lengthBytes = Buffer.from([mask | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    else if (lengthForm === 'long64') lengthBytes = Buffer.concat([Buffer.from([mask | 127]), Buffer.from(new BigUint64Array([BigInt(payload.length)]).buffer).reverse()]);
    else if (lengthForm === 'short16') lengthBytes = Buffer.from([mask | 126, payload.length >> 8, payload.length & 0xff]);
    else if (lengthForm === 'lie') lengthBytes = Buffer.from([mask | 125]);
    else lengthBytes = payload.length < 126 ? Buffer.from([mask | payload.length]) : Buffer.from([mask | 126, payload.length >> 8, payload.length & 0xff]);
    const key = masked ? randomBytes(4) : Buffer.alloc(0);
    const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!)) : payload;
    return Buffer.concat([Buffer.from([first]), lengthBytes, key, body]);
  });

/** A good handshake followed by frames of every shape, or by raw bytes. */
export function rawFrames(): fc.Arbitrary<Buffer> {
  return fc.oneof({ weight: 4, arbitrary: fc.array(frame, { minLength: 1, maxLength: 5 }).map((frames) => Buffer.concat(frames)) }, { weight: 1, arbitrary: rawBytes(300) });
}

export function handshake(target: Target): Buffer {
  const host = `127.0.0.1:${target.port}`;
  return Buffer.from(
    `GET /api?token=${target.token} HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
  );
}

/** Sends the handshake and `frames` on one connection, then waits (briefly) for the server to close it. */
export function rawSocketSession(target: Target, frames: Buffer, lingerMs = 150): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port: target.port, host: '127.0.0.1' });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, lingerMs);
    socket.on('connect', () => socket.write(Buffer.concat([handshake(target), frames])));
    socket.on('data', () => {});
    socket.on('close', done);
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? reject(new Error('the server is down')) : done()));
  });
}

/** API messages: JSON of any shape, call-shaped objects with wrong fields, text, binary, deep nesting. */
export function apiMessage(): fc.Arbitrary<{ data: string | Buffer; binary: boolean }> {
  // Destructive or slow calls (deleteCache, startRun, doctor) only ever get arguments that fail validation.
  const harmless = fc.constantFrom('listRuns', 'pauseRun', 'resumeRun', 'stopRun', 'setPolicy', 'listGpus', 'defaults', 'chooseInputFile');
  const odd = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', 'rmEverything', 'LISTRUNS');
  const id = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double(), fc.constantFrom(2 ** 53, -(2 ** 53), 1e308, -0, 0.5), fc.string(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
  const args = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({ runId: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('x'.repeat(200)), fc.integer()) }),
    fc.record({ runId: fc.string({ maxLength: 8 }), oom: fc.constantFrom('fail', 'cpu', 'truncate', 'x'), ensembleMode: fc.constantFrom('sequential', 'x') }, { requiredKeys: ['runId'] }),
  );
  const call = fc
    .record({ type: fc.oneof(fc.constant('call'), fc.jsonValue({ maxDepth: 1 })), id, name: fc.oneof(harmless, odd, fc.string({ maxLength: 12 })), args }, { requiredKeys: ['type', 'name'] })
    .map((message) => JSON.stringify(message));
  const invalidForDestructive = fc
    .tuple(fc.constantFrom('deleteCache', 'startRun'), fc.oneof(fc.constant(null), fc.integer(), fc.array(fc.jsonValue({ maxDepth: 1 })), fc.constant({ runId: 5 }), fc.constant({ input: 7 })))
    .map(([name, a]) => JSON.stringify({ type: 'call', id: 1, name, args: a }));
  const deep = fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('array', 'object', 'args')).map(([depth, shape]) => {
    if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const object = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return shape === 'object' ? object : `{"type":"call","id":1,"name":"listRuns","args":${object}}`;
  });
  const hugeId = fc.constantFrom('123456789012345678901234567890', '1e400', '-1e400', '9007199254740993', '0.1', '"1"', '[1]').map((n) => `{"type":"call","id":${n},"name":"listRuns","args":{}}`);
  const known = fc.constantFrom('null', '1', '-1', '[]', '""', '"call"', 'true', '{}', '{"type":"call"}', '{"__proto__":{"type":"call","name":"listRuns"}}', '{"type":"call","id":1,"name":"constructor","args":{}}', '{"type":"call","id":1,"name":"listRuns","args":null}', '{"type":"call","id":1,"name":"listRuns","args":[]}', '{"type":"call","id":1,"name":"listRuns","args":{"__proto__":{}}}');
  const texts = fc.oneof(
    { weight: 5, arbitrary: call },
    { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: hugeId },
    { weight: 2, arbitrary: known },
    { weight: 1, arbitrary: invalidForDestructive },
  );
  return fc.oneof(
    { weight: 9, arbitrary: texts.map((data) => ({ data, binary: false })) },
    { weight: 1, arbitrary: fc.oneof(rawBytes(100), fc.constant(Buffer.from('{"type":"call","id":1,"name":"listRuns"}'))).map((data) => ({ data, binary: true })) },
  );
}

export interface Answer {
  type: 'result';
  id: number | null;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** An authenticated API socket that hands back the next result for each message sent (one at a time). */
export class ApiClient {
  private waiting: ((answer: Answer) => void) | null = null;
  closed: { code: number } | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as Answer | { type: 'event' };
      if (message.type !== 'result') return;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.(message);
    });
    socket.on('close', (code) => (this.closed = { code }));
  }

  static open(target: Target): Promise<ApiClient> {
    const host = `127.0.0.1:${target.port}`;
    const socket = new WebSocket(`ws://${host}/api?token=${encodeURIComponent(target.token)}`, { headers: { origin: `http://${host}` } });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new ApiClient(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`API socket refused: ${response.statusCode}`)));
    });
  }

  /** Sends one message and resolves with its answer; rejects if the socket closes first. */
  send(data: string | Buffer, binary = false, timeoutMs = 10_000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) return reject(new Error(`the socket is closed (${this.closed?.code})`));
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms to ${String(data).slice(0, 200)}`)), timeoutMs);
      const onClose = (): void => reject(new Error(`the socket closed (${this.closed?.code}) before answering ${String(data).slice(0, 200)}`));
      this.socket.once('close', onClose);
      this.waiting = (answer) => {
        clearTimeout(timer);
        this.socket.off('close', onClose);
        resolve(answer);
      };
      this.socket.send(data, { binary });
    });
  }

  call(name: string, args: unknown): Promise<Answer> {
    return this.send(JSON.stringify({ type: 'call', id: 7, name, args }));
  }

  close(): void {
    this.socket.terminate();
  }
}

/** Codes an answer to a bad or odd message may carry; 'internal' would be an exception that leaked. */
export const ANSWER_CODES = new Set(['bad_args', 'unknown_call', 'not_found', 'busy', 'bad_input']);
