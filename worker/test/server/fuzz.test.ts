/**
 * The panel server stays up (issue 9, class 1): thousands of generated request
 * lines, paths, headers, upgrades, raw WebSocket frames and API messages, plus
 * the known killers (`//`, a message `null`, one over 1 MB), against a real
 * RunManager. Each bad one gets a 4xx or a `bad_args` answer; after each batch
 * GET / still answers and a fresh authenticated socket can call listRuns; no
 * exception reaches the process. The last test does it while a real embed run
 * goes on, and the run still finishes.
 */
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serve, type RunningServer } from '../../src/server/server.js';
import { RunManager } from '../../src/panel/runManager.js';
import { makeCorpus, tempDir, tinyModel } from '../helpers.js';
import { ANSWER_CODES, ANSWERABLE, ApiClient, apiMessage, httpRequest, knownNastyRequests, rawExchange, rawFrames, rawSocketSession, requestTarget, type Target } from './fuzzInputs.js';

let server: RunningServer;
let manager: RunManager;
let target: Target;
let dir: string;
const crashes: unknown[] = [];
const recordCrash = (error: unknown): void => void crashes.push(error);
const logged: string[] = [];

beforeAll(async () => {
  process.on('uncaughtException', recordCrash);
  process.on('unhandledRejection', recordCrash);
  dir = tempDir('headroom-fuzz-');
  const site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>panel</title>');
  manager = new RunManager({ runsDir: join(dir, 'runs'), monitorGpus: false });
  server = await serve({ host: '127.0.0.1', port: 0, allowRemote: false, manager, staticDir: site, log: (line) => logged.push(line) });
  target = { port: server.port, token: server.token };
});

/** Each test, and each generated batch, answers for its own findings (so fast-check shrinks to the culprit). */
function fresh(): void {
  crashes.length = 0;
  logged.length = 0;
}
/** How many generated inputs a test sent (the suite promises thousands). */
const sent = { requests: 0, messages: 0 };
beforeEach(() => {
  fresh();
  sent.requests = 0;
  sent.messages = 0;
});

afterAll(async () => {
  process.off('uncaughtException', recordCrash);
  process.off('unhandledRejection', recordCrash);
  await server?.close();
  await manager?.close();
});

function getIndex(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, path: '/', headers: { host: `127.0.0.1:${target.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What must hold after every batch: nothing reached the process, HTTP and the API still answer. */
async function stillAnswers(): Promise<void> {
  expect(crashes, 'an exception reached the process').toEqual([]);
  expect([200, 503]).toContain(await getIndex());
  const client = await ApiClient.open(target);
  try {
    expect(await client.call('listRuns', {})).toMatchObject({ ok: true });
  } finally {
    client.close();
  }
  expect(logged, 'a handler failed unexpectedly').toEqual([]);
}

const get = (path: string, headers = ''): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n${headers}\r\n`, 'latin1');
const upgrade = (path: string, origin = `http://127.0.0.1:${target.port}`): Buffer =>
  get(path, `Origin: ${origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n`);

async function sendBatch(requests: Buffer[]): Promise<void> {
  sent.requests += requests.length;
  const answers = await Promise.all(requests.map((bytes) => rawExchange(target.port, bytes, { halfClose: true })));
  answers.forEach((answer, i) => {
    const shown = JSON.stringify(requests[i]!.toString('latin1').slice(0, 300));
    expect(answer.hung, `no answer and no close for ${shown}`).toBe(false);
    if (answer.status !== null) expect(ANSWERABLE, `status ${answer.status} for ${shown}`).toContain(answer.status);
  });
}

describe('HTTP: request lines, paths, headers and upgrades', () => {
  it('answers the known killers with 400/403/404 and stays up (`//`, `/%`, `//x:y`, absolute-form, on GET and on upgrade)', async () => {
    const statusOf = async (bytes: Buffer): Promise<number | null> => (await rawExchange(target.port, bytes, { halfClose: true })).status;
    expect(await statusOf(get('//'))).toBe(404);
    expect(await statusOf(get('//..//'))).toBe(404);
    expect(await statusOf(get('/%'))).toBe(404);
    expect(await statusOf(get('//x:y'))).toBe(404);
    expect(await statusOf(get('http://x/'))).toBe(400);
    expect(await statusOf(get('*'))).toBe(400);
    expect(await statusOf(upgrade('//'))).toBe(404);
    expect(await statusOf(upgrade(`//api?token=${target.token}`))).toBe(404);
    expect(await statusOf(upgrade('//', 'http://evil.example'))).toBe(403); // the cross-origin <img>
    expect(await statusOf(upgrade('/api'))).toBe(401);
    expect(await statusOf(Buffer.from('\x00\x01\x02\xff\r\n\r\n', 'latin1'))).toBe(400); // clientError
    expect(await statusOf(get('/', `X-Big: ${'x'.repeat(20_000)}\r\n`))).toBe(431);
    await stillAnswers();
    await sendBatch(knownNastyRequests(target));
    await stillAnswers();
  });

  it('survives thousands of generated request targets, sent byte for byte (GET and upgrade)', async () => {
    const aimed = fc.tuple(requestTarget(target), fc.boolean()).map(([path, asUpgrade]) => {
      const line = [Buffer.from('GET '), path, Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\nOrigin: http://127.0.0.1:${target.port}\r\n`)];
      const extra = asUpgrade ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : '';
      return Buffer.concat([...line, Buffer.from(`${extra}\r\n`)]);
    });
    await fc.assert(
      fc.asyncProperty(fc.array(aimed, { minLength: 20, maxLength: 30 }), async (batch) => {
        fresh();
        await sendBatch(batch);
        await stillAnswers();
      }),
      { numRuns: 80 },
    );
    expect(sent.requests).toBeGreaterThanOrEqual(1600);
  });

  it('survives thousands of generated whole requests (methods, versions, headers, line endings, bodies), some cut off by a reset', async () => {
    const cutOff = (bytes: Buffer, cut: number): Promise<void> =>
      new Promise((resolve) => {
        const socket = netConnect({ port: target.port, host: '127.0.0.1' }, () => {
          socket.write(bytes.subarray(0, cut % (bytes.length + 1)));
          socket.resetAndDestroy();
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    await fc.assert(
      fc.asyncProperty(fc.array(httpRequest(target), { minLength: 20, maxLength: 30 }), fc.array(fc.tuple(httpRequest(target), fc.nat()), { maxLength: 10 }), async (batch, resets) => {
        fresh();
        await Promise.all([sendBatch(batch), ...resets.map(([bytes, cut]) => cutOff(bytes, cut))]);
        await stillAnswers();
      }),
      { numRuns: 80 },
    );
    expect(sent.requests).toBeGreaterThanOrEqual(1600);
  });
});

describe('WebSocket: frames and messages', () => {
  it('answers null, numbers, arrays, deep nesting, huge ids and binary frames with bad_args', async () => {
    const client = await ApiClient.open(target);
    const bad = ['null', '1', '[]', '"call"', 'true', '{}', 'not json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, `{"type":"call","id":1,"name":"listRuns","args":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`];
    for (const id of ['123456789012345678901234567890', '1e400', '9007199254740993', '0.5', '"1"', '[1]', '{}']) bad.push(`{"type":"call","id":${id},"name":"listRuns","args":{}}`);
    for (const message of bad) {
      const answer = await client.send(message);
      expect(answer, message.slice(0, 80)).toMatchObject({ type: 'result', ok: false, error: { code: 'bad_args' } });
    }
    expect(await client.send(Buffer.from('{"type":"call","id":1,"name":"listRuns"}'), true)).toMatchObject({ ok: false, error: { code: 'bad_args', message: expect.stringMatching(/not binary/) } });
    expect(await client.send('{"type":"call","id":3,"name":"listRuns","args":{}}')).toMatchObject({ id: 3, ok: true, result: [] });
    client.close();
    await stillAnswers();
  });

  it('closes only the socket of a message over 1 MB (1009), text or binary; the others keep working', async () => {
    for (const binary of [false, true]) {
      const [big, other] = await Promise.all([ApiClient.open(target), ApiClient.open(target)]);
      await expect(big.send(Buffer.alloc(1024 * 1024 + 1, 0x20), binary)).rejects.toThrow(/closed \(1009\)/);
      expect(await other.call('listRuns', {})).toMatchObject({ ok: true });
      other.close();
    }
    await stillAnswers();
  });

  it('survives generated messages of every shape, each answered, none with an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(apiMessage(), { minLength: 20, maxLength: 30 }), async (messages) => {
        fresh();
        const client = await ApiClient.open(target);
        try {
          for (const { data, binary } of messages) {
            const answer = await client.send(data, binary);
            sent.messages += 1;
            expect(answer.type).toBe('result');
            if (!answer.ok) expect(ANSWER_CODES, `${answer.error?.code}: ${answer.error?.message} for ${String(data).slice(0, 200)}`).toContain(answer.error?.code);
          }
        } finally {
          client.close();
        }
        await stillAnswers();
      }),
      { numRuns: 50 },
    );
    expect(sent.messages).toBeGreaterThanOrEqual(1000);
  });

  it('survives raw frames of every shape after a good handshake (bad opcodes, unmasked, lying lengths, invalid UTF-8)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawFrames(), { minLength: 10, maxLength: 25 }), async (sessions) => {
        fresh();
        await Promise.all(sessions.map((frames) => rawSocketSession(target, frames)));
        await stillAnswers();
      }),
      { numRuns: 15 },
    );
  });
});

describe('while a run goes on', () => {
  it('a real embed run (tiny model) finishes, done, with the fuzz beside it all along', async () => {
    const client = await ApiClient.open(target);
    const corpus = makeCorpus(dir, 60);
    const started = await client.call('startRun', { input: corpus, models: [{ model: tinyModel(), device: 'cpu' }], chunkSize: 20, batchSize: 4 });
    expect(started, JSON.stringify(started)).toMatchObject({ ok: true });
    const runId = (started.result as { runId: string }).runId;
    const status = async (): Promise<string> => {
      const answer = await client.call('listRuns', {});
      return (answer.result as { runId: string; status: string }[]).find((run) => run.runId === runId)?.status ?? 'missing';
    };
    let batches = 0;
    let state = await status();
    while (batches < 3 || state === 'running' || state === 'created') {
      const messages = fc.sample(apiMessage(), 20);
      await Promise.all([
        sendBatch(fc.sample(httpRequest(target), 20)),
        Promise.all(fc.sample(rawFrames(), 5).map((frames) => rawSocketSession(target, frames))),
        (async () => {
          const fuzzer = await ApiClient.open(target);
          for (const { data, binary } of messages) await fuzzer.send(data, binary);
          fuzzer.close();
        })(),
      ]);
      await stillAnswers();
      batches += 1;
      state = await status();
    }
    expect(state).toBe('done');
    expect(batches).toBeGreaterThanOrEqual(3);
    client.close();
  });
});
