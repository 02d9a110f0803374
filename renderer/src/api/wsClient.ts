/** The panel API over the WebSocket of `headroom serve` (the token comes in the page's URL fragment). */
import type { CallArgs, CallName, CallResult, EventName, EventPayload, HeadroomApi } from '../../../worker/src/contract/api.ts';
import { CALL_NAMES } from '../../../worker/src/contract/api.ts';
import { ServerMessage } from '../../../worker/src/contract/wire.ts';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}


export function readToken(): string | null {
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('headroom-token', fromHash);
    history.replaceState(null, '', window.location.pathname); // keep it out of the address bar and history
    return fromHash;
  }
  return sessionStorage.getItem('headroom-token');
}

export function connectWebSocket(token: string, onConnection: (up: boolean) => void): HeadroomApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const pending = new Map<number, Pending>();
  const queue: string[] = [];
  let nextId = 1;
  let socket: WebSocket;

  const open = (): void => {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${window.location.host}/api?token=${encodeURIComponent(token)}`);
    socket.onopen = () => {
      onConnection(true);
      for (const line of queue.splice(0)) socket.send(line);
    };
    socket.onclose = () => {
      onConnection(false);
      for (const call of pending.values()) call.reject(new Error('the connection to Headroom closed'));
      pending.clear();
      setTimeout(open, 1000);
    };
    socket.onmessage = (message: MessageEvent<string>) => {
      const parsed = ServerMessage.safeParse(JSON.parse(message.data));
      if (!parsed.success) return; // not the contract's envelope: nothing to route
      const data = parsed.data;
      if (data.type === 'event') {
        for (const listener of listeners.get(data.name) ?? []) listener(data.payload);
        return;
      }
      const call = data.id === null ? undefined : pending.get(data.id);
      if (!call) return;
      pending.delete(data.id!);
      if (data.ok) call.resolve(data.result);
      else call.reject(new Error(data.error.message));
    };
  };
  open();

  const call = <N extends CallName>(name: N, args: CallArgs<N>): Promise<CallResult<N>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const line = JSON.stringify({ type: 'call', id, name, args });
      if (socket.readyState === WebSocket.OPEN) socket.send(line);
      else queue.push(line);
    });

  const api = Object.fromEntries(CALL_NAMES.map((name) => [name, (args: never) => call(name, args)])) as unknown as HeadroomApi;
  api.on = <N extends EventName>(event: N, listener: (payload: EventPayload<N>) => void) => {
    const set = listeners.get(event) ?? new Set();
    set.add(listener as (payload: unknown) => void);
    listeners.set(event, set);
    return () => set.delete(listener as (payload: unknown) => void);
  };
  return api;
}
