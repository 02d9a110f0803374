/**
 * The desktop app's main process (started by main.ts): one window over the app:// scheme, the Engine
 * (RunManager) in this process, the IPC table from the contract, and every
 * runtime stopped on quit.
 */
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, shell } from 'electron';
import type { EventName } from '../../worker/src/contract/api.js';
import { redactDeep } from '../../worker/src/redact.js';
import { assetFile, CONTENT_TYPES } from '../../worker/src/assets/webAssets.js';
import { builtinFormDefaults, registerBuiltinJobs } from '../../worker/src/jobs/builtin.js';
import { RunManager } from '../../worker/src/panel/runManager.js';
import { defaultRunsDir } from '../../worker/src/runs/runsDir.js';
import { EVENT_CHANNEL, EVENT_NAMES, registerIpc } from './ipcTable.js';
import { menuTemplate } from './menu.js';
import { APP_HOST, APP_SCHEME, APP_URL, CONTENT_SECURITY_POLICY, mayNavigate, mayOpenExternally, windowOptions } from './security.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const RENDERER = join(here, '..', '..', 'renderer', 'dist');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let manager: RunManager | undefined;

function serveRenderer(): void {
  protocol.handle(APP_SCHEME, (request) => {
    const url = new URL(request.url);
    const file = url.host === APP_HOST ? assetFile(RENDERER, url.pathname) : null;
    if (file === null) return new Response('not found', { status: 404 });
    return new Response(readFileSync(file), { headers: { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CONTENT_SECURITY_POLICY } });
  });
}

async function createWindow(): Promise<void> {
  const window = new BrowserWindow(windowOptions(join(here, 'preload.cjs')));
  const contents = window.webContents;
  contents.on('will-navigate', (event, url) => {
    if (!mayNavigate(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (mayOpenExternally(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  for (const name of EVENT_NAMES) {
    manager!.on(name as EventName, (payload) => {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, name, redactDeep(payload));
    });
  }
  window.once('ready-to-show', () => window.show());
  await window.loadURL(APP_URL);
}

app.enableSandbox();
void app.whenReady().then(async () => {
  registerBuiltinJobs();
  manager = new RunManager({
    runsDir: defaultRunsDir(),
    formDefaults: builtinFormDefaults(),
    chooseInputFile: async () => {
      const result = await dialog.showOpenDialog({ properties: ['openFile'], filters: [{ name: 'Corpora', extensions: ['jsonl', 'csv', 'txt'] }] });
      return { path: result.canceled ? null : (result.filePaths[0] ?? null) };
    },
  });
  serveRenderer();
  registerIpc(ipcMain, manager);
  const runsDir = manager.runsDir;
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(app.name, () => void shell.openPath(runsDir))));
  await createWindow();
});

let quitting = false;
app.on('before-quit', (event) => {
  if (quitting || !manager) return;
  event.preventDefault(); // stop every run and its runtime first: a stray runtime holds VRAM
  quitting = true;
  void manager.close().finally(() => app.quit());
});
app.on('window-all-closed', () => app.quit());
