/**
 * The IPC table, derived from the contract: one channel per call, each checking
 * the sender frame and validating its arguments before the Engine sees them.
 * Channels not in the contract do not exist, so invoking one fails.
 */
import { ApiError, CALL_NAMES, checkCall, EVENTS, failureAnswer, type CallName, type EventName } from '../../worker/src/contract/api.js';
import type { Answer } from '../../worker/src/contract/wire.js';
import { redactDeep } from '../../worker/src/redact.js';
import { isAppFrame } from './security.js';

export const callChannel = (name: CallName): string => `headroom:call:${name}`;
export const EVENT_CHANNEL = 'headroom:event';
export const CALL_CHANNELS: readonly string[] = CALL_NAMES.map(callChannel);
export const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** What a handler answers: the contract's Answer (errors travel as values; Electron would strip an Error's fields). */
export type IpcAnswer = Answer;

/** The part of ipcMain this table needs (Electron's, or a recorder in tests). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: { url: string } | null }, args: unknown) => Promise<IpcAnswer>): void;
}

export interface CallTarget {
  call(name: CallName, args: unknown): Promise<unknown>;
}

export async function answerCall(target: CallTarget, name: CallName, senderUrl: string | undefined, args: unknown): Promise<IpcAnswer> {
  try {
    if (!isAppFrame(senderUrl)) throw new ApiError('bad_args', `refused: ${name} from a frame that is not the app (${senderUrl || 'empty'})`);
    const checked = checkCall(name, args);
    return { ok: true, result: redactDeep(await target.call(checked.name, checked.args)) };
  } catch (error) {
    return failureAnswer(error);
  }
}

export function registerIpc(ipcMain: IpcMainLike, target: CallTarget): void {
  for (const name of CALL_NAMES) {
    ipcMain.handle(callChannel(name), (event, args) => answerCall(target, name, event.senderFrame?.url, args));
  }
}
