/**
 * One panel connection: calls in, results and events out. Every message, of any
 * shape, gets an answer or is dropped with its socket; none reaches the process
 * as an exception. A message over maxPayload closes only its own socket (1009,
 * by `ws`, reported through the socket's `error` event, which must be listened to).
 */
import type { RawData, WebSocket } from 'ws';
import { ApiError, checkCall, EVENTS, failureAnswer, type EventName } from '../contract/api.js';
import { CallMessage, type ServerMessage } from '../contract/wire.js';
import { redactDeep } from '../redact.js';
import type { RunManager } from '../panel/runManager.js';

/** Largest incoming message; `ws` closes the socket with 1009 above it. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** A client that stops reading while events pile up is dropped, not buffered for ever. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Error messages echo what was sent (zod lists unknown keys): keep answers bounded. */
const MAX_ERROR_CHARS = 2000;

export interface CheckedCall {
  id: number | null;
  name: string;
  args: unknown;
}

const textOf = (data: RawData): string =>
  (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');

const badArgs = (message: string): ApiError => new ApiError('bad_args', message);
const SHAPE = 'expected {type: "call", id, name, args}';

/** Reads one message into a call, or says what is wrong with it (and the id to answer, when it has one). */
export function readCall(data: RawData, isBinary: boolean): CheckedCall | { id: number | null; error: ApiError } {
  if (isBinary) return { id: null, error: badArgs(`a message must be JSON text, not binary; ${SHAPE}`) };
  let message: unknown;
  try {
    message = JSON.parse(textOf(data));
  } catch {
    return { id: null, error: badArgs(`a message must be JSON; ${SHAPE}`) };
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return { id: null, error: badArgs(`a message must be a JSON object; ${SHAPE}`) };
  const { id } = message as Record<string, unknown>;
  if (id !== undefined && !(typeof id === 'number' && Number.isSafeInteger(id))) {
    return { id: null, error: badArgs(`id: a whole number of at most 2^53 - 1; ${SHAPE}`) };
  }
  const callId = (id as number | undefined) ?? null;
  const call = CallMessage.safeParse(message);
  if (!call.success) {
    const field = String(call.error.issues[0]?.path[0] ?? 'type');
    return { id: callId, error: badArgs(field === 'name' ? `name: the name of a call; ${SHAPE}` : `${field}: must be "call"; ${SHAPE}`) };
  }
  return { id: callId, name: call.data.name, args: call.data.args };
}

const bounded = (text: string): string => (text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text);

export function connect(ws: WebSocket, manager: RunManager, log: (line: string) => void): void {
  const send = (message: ServerMessage): void => {
    // Called from the manager's events too: a failure here must not reach a run.
    try {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return void ws.terminate();
      ws.send(JSON.stringify(redactDeep(message)));
    } catch (error) {
      log(`could not answer a panel connection: ${error instanceof Error ? error.message : String(error)}`);
      ws.terminate();
    }
  };
  const fail = (id: number | null, error: unknown): void => {
    send({ type: 'result', id, ...failureAnswer(error, bounded) });
  };
  const unsubscribe = (Object.keys(EVENTS) as EventName[]).map((name) => manager.on(name, (payload) => send({ type: 'event', name, payload })));
  ws.on('close', () => unsubscribe.forEach((off) => off()));
  // An oversized or malformed frame: `ws` is already closing the socket (1009, 1002, 1007) and
  // drops it if the peer does not answer; without a listener the error would end the process.
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    let id: number | null = null;
    try {
      const read = readCall(data, isBinary);
      id = read.id;
      if ('error' in read) return fail(id, read.error);
      const checked = checkCall(read.name, read.args);
      const answerId = id;
      manager.call(checked.name, checked.args).then(
        (result) => send({ type: 'result', id: answerId, ok: true, result }),
        (error: unknown) => fail(answerId, error),
      );
    } catch (error) {
      fail(id, error);
    }
  });
}
