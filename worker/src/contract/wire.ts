/**
 * The envelope every call and event travels in, whichever transport carries it:
 * Electron's IPC (an Answer per invoke, events by name), the WebSocket of
 * `headroom serve` (Call in; Result and Event out), its browser client, and the tests.
 */
import { z } from 'zod';
import { EVENTS, type EventName } from './api.js';

export const ApiErrorCode = z.enum(['bad_args', 'unknown_call', 'not_found', 'busy', 'bad_input', 'internal']);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** A call's outcome: its result, or an error as a value (Electron would strip an Error's fields). */
export const Answer = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: ApiErrorCode, message: z.string() }) }),
]);
export type Answer = z.infer<typeof Answer>;

/** A call, client to server: id is echoed in its Result (null when the call had none or it was unreadable). */
export const CallMessage = z.object({ type: z.literal('call'), id: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(), name: z.string(), args: z.unknown() });
export type CallMessage = z.infer<typeof CallMessage>;

const EVENT_NAMES = Object.keys(EVENTS) as [EventName, ...EventName[]];

export const ResultMessage = z.intersection(z.object({ type: z.literal('result'), id: z.number().nullable() }), Answer);
export const EventMessage = z.object({ type: z.literal('event'), name: z.enum(EVENT_NAMES), payload: z.unknown() });
/** Everything the server sends. */
export const ServerMessage = z.union([ResultMessage, EventMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;
