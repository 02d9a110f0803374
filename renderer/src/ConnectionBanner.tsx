/**
 * Says when the page has lost `headroom serve` (the run controls grey out through the store's
 * `connected`), that it is retrying, when it is back (the store reloads on that transition), and,
 * when it cannot get back, how to get the new URL.
 */
import { Alert, Badge, Code } from '@mantine/core';
import { useSyncExternalStore } from 'react';
import { connectionState, SOON_MS, subscribeConnection, type ConnectionState } from './api/wsClient.ts';
import { useNow } from './views/useNow.ts';

/** How long "reconnected" stays up. */
const BACK_SHOWN_MS = 6000;

export interface ConnectionNotice {
  color: 'yellow' | 'red' | 'green';
  /** The header badge's word. */
  badge: string;
  title: string;
  /** Plain text; `backticked` parts are shown as code. */
  body: string;
}

const RESTART_HELP =
  'If it was stopped, start it again: `headroom serve` prints the URL to open (it carries the access token). Started with `--port N`, it keeps its port and token, and this tab reconnects by itself.';

/** What to tell the user about the connection `state` at time `now` (ms), or null: nothing to say. */
export function connectionNotice(state: ConnectionState, now: number): ConnectionNotice | null {
  const at = state.url || 'this address';
  if (state.phase === 'connecting') return null;
  if (state.phase === 'up') {
    if (state.reconnectedAt === null || now - state.reconnectedAt >= BACK_SHOWN_MS) return null;
    return { color: 'green', badge: 'connected', title: `Reconnected to Headroom at ${at}`, body: 'The runs and the open run were reloaded from disk.' };
  }
  if (state.phase === 'refused') {
    return {
      color: 'red',
      badge: 'disconnected',
      title: `Headroom at ${at} is running but refuses this tab`,
      body: 'It was restarted with a new access token. Open the URL `headroom serve` printed. Started with `--port N`, it keeps its token across restarts (unless `--new-token`), so tabs keep working.',
    };
  }
  const away = now - (state.lostAt ?? now);
  if (away < SOON_MS) {
    return {
      color: 'yellow',
      badge: 'reconnecting…',
      title: `Lost the connection to Headroom at ${at}; retrying…`,
      body: 'The controls are off until it is back; what this page shows is the last it heard.',
    };
  }
  return { color: 'red', badge: 'disconnected', title: `Headroom at ${at} has not answered for ${Math.round(away / 1000)} s; still retrying`, body: RESTART_HELP };
}

function useConnectionNotice(): ConnectionNotice | null {
  const state = useSyncExternalStore(subscribeConnection, connectionState);
  const now = useNow(state.phase === 'lost' || state.reconnectedAt !== null);
  return connectionNotice(state, now);
}

/** `a `b` c` as text with code. */
function withCode(text: string) {
  return text.split('`').map((part, i) => (i % 2 === 1 ? <Code key={i}>{part}</Code> : part));
}

/** The header's word for the connection (what says the rest is greyed). */
export function ConnectionBadge({ connected }: { connected: boolean }) {
  const notice = useConnectionNotice();
  const [color, word] = connected ? ['green', 'connected'] : notice && notice.color !== 'green' ? [notice.color, notice.badge] : ['gray', 'connecting…'];
  return (
    // The page's text colour on the tint: Mantine's light yellow and green words fail contrast.
    <Badge variant="light" color={color} size="sm" aria-label={`Connection: ${word}`} style={{ color: 'var(--mantine-color-text)' }}>
      {word}
    </Badge>
  );
}

/** The notice, at the top of every view. */
export function ConnectionBanner({ notice }: { notice: ConnectionNotice | null }) {
  if (!notice) return null;
  return (
    <Alert
      color={notice.color}
      title={notice.title}
      role={notice.color === 'red' ? 'alert' : 'status'}
      data-testid="connection-banner"
      mb="md"
      // The tint says how bad; the words keep the page's text colour (a yellow title fails contrast).
      styles={{ title: { color: 'var(--mantine-color-text)' } }}
    >
      {withCode(notice.body)}
    </Alert>
  );
}

/** The banner as the page shows it: from the live connection. */
export function LiveConnectionBanner() {
  return <ConnectionBanner notice={useConnectionNotice()} />;
}
