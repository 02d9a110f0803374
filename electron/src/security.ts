/**
 * The desktop window's security settings and the checks every IPC message and
 * navigation passes. Plain functions, so they are tested under Node (the Electron
 * binary cannot be downloaded on the build machines).
 */
import type { BrowserWindowConstructorOptions } from 'electron';

/** The renderer is served from this privileged scheme, never from file:// (whose origin is "null"). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'headroom';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

export { CONTENT_SECURITY_POLICY } from '../../worker/src/assets/webAssets.js';

export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1360,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Headroom',
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  };
}

/** True only for a frame of the app itself: its URL parsed, scheme and host checked. Empty and about:blank are refused. */
export function isAppFrame(url: string | undefined | null): boolean {
  if (!url || url === 'about:blank') return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
}

/** The window never navigates away from the app (links open outside, see below). */
export const mayNavigate = (url: string): boolean => isAppFrame(url);

/** shell.openExternal only for http(s) links: never file:, smb:, javascript: or custom schemes. */
export function mayOpenExternally(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
