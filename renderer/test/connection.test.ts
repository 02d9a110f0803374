/**
 * What the page says about its connection to `headroom serve`: nothing while up, "retrying"
 * at once when lost, how to get the new URL after 30 s or when the token is refused, and
 * "reconnected" for a few seconds after it came back. Rendered to markup (no DOM here).
 */
import { MantineProvider } from '@mantine/core';
import { createElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type ConnectionState } from '../src/api/wsClient.ts';
import { ConnectionBanner, connectionNotice } from '../src/ConnectionBanner.tsx';

const render = (node: ReactNode): string => renderToStaticMarkup(createElement(MantineProvider, null, node));
const url = 'http://127.0.0.1:8765';
const T = 1_000_000;
const at = (state: Partial<ConnectionState>): ConnectionState => ({ phase: 'up', url, lostAt: null, reconnectedAt: null, ...state });

describe('connectionNotice', () => {
  it('says nothing while connecting the first time or while up', () => {
    expect(connectionNotice(at({ phase: 'connecting' }), T)).toBeNull();
    expect(connectionNotice(at({}), T)).toBeNull();
  });

  it('says the connection is lost, naming the server, and that it retries', () => {
    const notice = connectionNotice(at({ phase: 'lost', lostAt: T }), T + 2000)!;
    expect(notice).toMatchObject({ color: 'yellow', badge: 'reconnecting…', title: `Lost the connection to Headroom at ${url}; retrying…` });
    expect(notice.title).not.toContain('token');
  });

  it('after 30 s without an answer, says how to get the new URL', () => {
    const notice = connectionNotice(at({ phase: 'lost', lostAt: T }), T + 31_000)!;
    expect(notice).toMatchObject({ color: 'red', badge: 'disconnected', title: `Headroom at ${url} has not answered for 31 s; still retrying` });
    expect(notice.body).toContain('`headroom serve` prints the URL to open');
    expect(notice.body).toContain('`--port N`');
  });

  it('when the server answers but refuses the socket, says it was restarted with a new token', () => {
    const notice = connectionNotice(at({ phase: 'refused', lostAt: T }), T + 1000)!;
    expect(notice).toMatchObject({ color: 'red', title: `Headroom at ${url} is running but refuses this tab` });
    expect(notice.body).toContain('new access token');
    expect(notice.body).toContain('`--new-token`');
  });

  it('says it reconnected for a few seconds, then nothing', () => {
    expect(connectionNotice(at({ reconnectedAt: T }), T + 1000)).toMatchObject({ color: 'green', title: `Reconnected to Headroom at ${url}` });
    expect(connectionNotice(at({ reconnectedAt: T }), T + 10_000)).toBeNull();
  });
});

describe('ConnectionBanner', () => {
  it('renders the notice as an alert with the commands as code, and nothing without one', () => {
    const html = render(createElement(ConnectionBanner, { notice: connectionNotice(at({ phase: 'lost', lostAt: T }), T + 40_000) }));
    expect(html).toContain('role="alert"');
    expect(html).toContain(`Headroom at ${url} has not answered for 40 s`);
    expect(html).toMatch(/<code[^>]*>headroom serve<\/code>/);
    expect(render(createElement(ConnectionBanner, { notice: null }))).not.toContain('connection-banner');
    expect(html).toContain('connection-banner');
    expect(render(createElement(ConnectionBanner, { notice: connectionNotice(at({ phase: 'lost', lostAt: T }), T) }))).toContain('role="status"');
  });
});
