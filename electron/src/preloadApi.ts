/**
 * What the preload exposes to the page: exactly the contract's calls and event
 * subscriptions, built over two functions Electron's ipcRenderer provides.
 * No ipcRenderer, no channel names, nothing else reaches the page.
 */
import type { CallName, EventName, HeadroomApi } from '../../worker/src/contract/api.js';
import { CALL_CHANNELS, EVENT_CHANNEL, EVENT_NAMES, type IpcAnswer } from './ipcTable.js';

export interface RendererIpc {
  invoke(channel: string, args: unknown): Promise<IpcAnswer>;
  subscribe(channel: string, listener: (name: string, payload: unknown) => void): () => void;
}

export function buildPreloadApi(ipc: RendererIpc, callNames: readonly CallName[]): HeadroomApi {
  const api: Record<string, unknown> = {};
  for (const [i, name] of callNames.entries()) {
    const channel = CALL_CHANNELS[i]!;
    api[name] = async (args: unknown) => {
      const answer = await ipc.invoke(channel, args ?? {});
      if (!answer.ok) throw new Error(answer.error.message);
      return answer.result;
    };
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => {
    if (!EVENT_NAMES.includes(event)) throw new Error(`unknown event "${String(event)}"`);
    return ipc.subscribe(EVENT_CHANNEL, (name, payload) => {
      if (name === event) listener(payload);
    });
  };
  return Object.freeze(api) as unknown as HeadroomApi;
}
