import '@mantine/core/styles.css';
import { createTheme, MantineProvider, Text } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { HeadroomApi } from '../../worker/src/contract/api.ts';
import { App } from './App.tsx';
import { connectWebSocket, readToken } from './api/wsClient.ts';
import { useStore } from './store/index.ts';

declare global {
  interface Window {
    /** Given by Electron's preload; absent in the browser. */
    headroom?: HeadroomApi;
  }
}

const theme = createTheme({ primaryColor: 'blue', defaultRadius: 'sm', fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' });

function pickApi(): HeadroomApi | null {
  if (window.headroom) {
    useStore.getState().setConnected(true);
    return window.headroom;
  }
  const token = readToken();
  return token ? connectWebSocket(token, (up) => useStore.getState().setConnected(up)) : null;
}

const api = pickApi();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto">
      {api ? <App api={api} /> : <Text p="xl">Open the URL `headroom serve` printed: it carries the access token.</Text>}
    </MantineProvider>
  </StrictMode>,
);
