/** The panel API over the WebSocket of `headroom serve` (the token comes in the page's URL fragment). */
import type { CallArgs, CallName, CallResult, EventName, EventPayload, HeadroomApi } from '../../../worker/src/contract/api.ts';
import { CALL_NAMES } from '../../../worker/src/contract/api.ts';
import { ServerMessage } from '../../../worker/src/contract/wire.ts';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * The connection as the page tells it (ConnectionBanner): 'connecting' before the first answer;
 * 'up'; 'lost' while the server does not answer (retrying); 'refused' when the server answers
 * HTTP but refuses the socket: it was restarted with a new token (a browser hides the 401, so
 * the page asks for '/' to tell "down" from "refused").
 */
export type ConnectionPhase = 'connecting' | 'up' | 'lost' | 'refused';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** The server's address as the user knows it (the token is never shown). */
  url: string;
  /** When the connection was lost (kept through the retries); null while up. */
  lostAt: number | null;
  /** When it came back after a loss; null if it never was lost. */
  reconnectedAt: number | null;
}

/** Retry every second at first, then less often once the server has been away a while. */
export const SOON_MS = 30_000;
const retryDelay = (state: ConnectionState, now: number): number =>
  state.phase === 'refused' ? 5000 : state.lostAt !== null && now - state.lostAt > SOON_MS ? 3000 : 1000;

// One connection per page. Electron's pages never connect here: for them it stays 'up'.
let connection: ConnectionState = { phase: 'up', url: '', lostAt: null, reconnectedAt: null };
const watchers = new Set<() => void>();

export const connectionState = (): ConnectionState => connection;

export function subscribeConnection(watcher: () => void): () => void {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

function setConnection(next: Partial<ConnectionState>): void {
  connection = { ...connection, ...next };
  for (const watcher of watchers) watcher();
}

/** Does the server answer HTTP? (It is up, so a failed socket was refused, not unanswered.) */
async function serverAnswers(): Promise<boolean> {
  try {
    return (await fetch('/', { cache: 'no-store' })).ok;
  } catch {
    return false;
  }
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

  setConnection({ phase: 'connecting', url: window.location.origin });
  // The new URL pasted into this tab changes only the fragment, which loads nothing: start over with its token.
  window.addEventListener('hashchange', () => {
    const fresh = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (fresh && fresh !== token) window.location.reload();
  });

  const open = (): void => {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${window.location.host}/api?token=${encodeURIComponent(token)}`);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      setConnection({ phase: 'up', lostAt: null, reconnectedAt: connection.lostAt === null ? connection.reconnectedAt : Date.now() });
      onConnection(true); // the store reloads what it shows on this transition
      for (const line of queue.splice(0)) socket.send(line);
    };
    socket.onclose = () => {
      if (opened) onConnection(false);
      for (const call of pending.values()) call.reject(new Error('the connection to Headroom closed'));
      pending.clear();
      const lostAt = connection.lostAt ?? Date.now();
      void (opened ? Promise.resolve(false) : serverAnswers()).then((answers) => {
        setConnection({ phase: answers ? 'refused' : 'lost', lostAt });
        setTimeout(open, retryDelay(connection, Date.now()));
      });
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
