/** The preload: a sandboxed script, bundled to CommonJS; it exposes window.headroom and nothing else. */
import { contextBridge, ipcRenderer } from 'electron';
import { CALL_NAMES } from '../../worker/src/contract/api.js';
import { buildPreloadApi } from './preloadApi.js';

const api = buildPreloadApi(
  {
    invoke: (channel, args) => ipcRenderer.invoke(channel, args),
    subscribe: (channel, listener) => {
      const wrapped = (_event: unknown, name: string, payload: unknown): void => listener(name, payload);
      ipcRenderer.on(channel, wrapped);
      return () => ipcRenderer.off(channel, wrapped);
    },
  },
  CALL_NAMES,
);
contextBridge.exposeInMainWorld('headroom', api);
