/**
 * The main-process modules under Node: window options, the sender check, the IPC
 * table derived from the contract, and what the preload exposes. (The Electron
 * binary cannot be downloaded here; its API is replaced by recorders at that one
 * boundary.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CALL_NAMES, type CallName } from '../../worker/src/contract/api.js';
import { answerCall, CALL_CHANNELS, callChannel, EVENT_CHANNEL, registerIpc, type IpcAnswer, type IpcMainLike } from '../src/ipcTable.js';
import { menuTemplate } from '../src/menu.js';
import { buildPreloadApi, type RendererIpc } from '../src/preloadApi.js';
import { APP_URL, isAppFrame, mayNavigate, mayOpenExternally, windowOptions } from '../src/security.js';

/** Records what the Engine was asked, so a test can see nothing reached it. */
function recordingTarget() {
  const calls: [CallName, unknown][] = [];
  return { calls, call: async (name: CallName, args: unknown) => (calls.push([name, args]), { ok: true }) };
}

/** A stand-in for ipcMain: the handlers registered, invoked the way Electron would. */
function fakeIpcMain() {
  const handlers = new Map<string, Parameters<IpcMainLike['handle']>[1]>();
  const ipc: IpcMainLike = { handle: (channel, listener) => void handlers.set(channel, listener) };
  const invoke = async (channel: string, args: unknown, url = APP_URL): Promise<IpcAnswer> => {
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    return handler({ senderFrame: { url } }, args);
  };
  return { ipc, handlers, invoke };
}

describe('the window', () => {
  it('isolates the page: context isolation, sandbox, no Node, web security on', () => {
    const prefs = windowOptions('/app/preload.cjs').webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('never navigates away, and opens only http(s) links outside', () => {
    expect(mayNavigate(APP_URL)).toBe(true);
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'about:blank', 'app://other/index.html']) expect(mayNavigate(url)).toBe(false);
    expect(mayOpenExternally('https://pytorch.org/')).toBe(true);
    expect(mayOpenExternally('http://localhost:8080/')).toBe(true);
    for (const url of ['file:///bin/sh', 'smb://host/share', 'javascript:alert(1)', 'vscode://x', 'not a url']) expect(mayOpenExternally(url)).toBe(false);
  });

  it('accepts IPC only from the app\'s own frame', () => {
    expect(isAppFrame('app://headroom/index.html')).toBe(true);
    expect(isAppFrame('app://headroom/index.html#/runs')).toBe(true);
    for (const url of ['', undefined, null, 'about:blank', 'https://headroom/', 'app://headroom.evil/', 'app://user:pw@headroom/', 'file:///index.html', '%%%']) {
      expect(isAppFrame(url)).toBe(false);
    }
  });

  it('has a native menu with the runs folder and the standard roles', () => {
    const labels = menuTemplate('Headroom', () => undefined, 'linux').map((item) => item.label ?? item.role);
    expect(labels).toEqual(['File', 'Edit', 'View', 'windowMenu']);
    expect(menuTemplate('Headroom', () => undefined, 'darwin')[0]!.label).toBe('Headroom');
  });
});

describe('the IPC table', () => {
  it('has one channel per contract call and nothing else', () => {
    const { ipc, handlers } = fakeIpcMain();
    registerIpc(ipc, recordingTarget());
    expect([...handlers.keys()].sort()).toEqual([...CALL_CHANNELS].sort());
    expect(handlers.size).toBe(CALL_NAMES.length);
  });

  it('validates every argument before the Engine sees it', async () => {
    const target = recordingTarget();
    const { ipc, invoke } = fakeIpcMain();
    registerIpc(ipc, target);
    const bad = await invoke(callChannel('pauseRun'), { runId: '../../etc/passwd' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_args' } });
    const extra = await invoke(callChannel('listRuns'), { sneaky: 1 });
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad_args' } });
    const start = await invoke(callChannel('startRun'), { input: 'x.jsonl', models: [{ model: 'm', weight: -1 }] });
    expect(start).toMatchObject({ ok: false, error: { code: 'bad_args', message: expect.stringMatching(/a weight is at least 0.000001/) } });
    expect(target.calls).toEqual([]);
    expect(await invoke(callChannel('pauseRun'), { runId: 'embed-1' })).toEqual({ ok: true, result: { ok: true } });
    expect(target.calls).toEqual([['pauseRun', { runId: 'embed-1' }]]);
  });

  it('refuses a sender that is not the app: empty, about:blank, another origin', async () => {
    const target = recordingTarget();
    for (const url of ['', 'about:blank', 'https://evil.example/', 'file:///tmp/x.html']) {
      const answer = await answerCall(target, 'listRuns', url, {});
      expect(answer).toMatchObject({ ok: false, error: { code: 'bad_args', message: expect.stringMatching(/not the app/) } });
    }
    expect(target.calls).toEqual([]);
  });

  it('fails a call on a channel the contract does not have', async () => {
    const { ipc, invoke } = fakeIpcMain();
    registerIpc(ipc, recordingTarget());
    await expect(invoke('headroom:call:runShell', {})).rejects.toThrow(/No handler registered/);
    await expect(invoke('headroom:call:__proto__', {})).rejects.toThrow(/No handler registered/);
  });
});

describe('the preload', () => {
  const ipc = (): RendererIpc & { sent: [string, unknown][] } => {
    const sent: [string, unknown][] = [];
    return { sent, invoke: async (channel, args) => (sent.push([channel, args]), { ok: true, result: 'r' }), subscribe: () => () => undefined };
  };

  it('exposes exactly the contract: its calls and `on`, frozen', () => {
    const api = buildPreloadApi(ipc(), CALL_NAMES);
    expect(Object.keys(api).sort()).toEqual([...CALL_NAMES, 'on'].sort());
    expect(Object.isFrozen(api)).toBe(true);
    expect((api as unknown as Record<string, unknown>).invoke).toBeUndefined();
    expect((api as unknown as Record<string, unknown>).ipcRenderer).toBeUndefined();
  });

  it('sends each call on its own channel and turns refusals into errors', async () => {
    const channel = ipc();
    const api = buildPreloadApi(channel, CALL_NAMES);
    await api.listRuns({});
    expect(channel.sent).toEqual([[callChannel('listRuns'), {}]]);
    const refusing = buildPreloadApi({ ...channel, invoke: async () => ({ ok: false, error: { code: 'bad_args', message: 'no' } }) }, CALL_NAMES);
    await expect(refusing.listRuns({})).rejects.toThrow('no');
  });

  it('subscribes only to the contract\'s events, on one channel', () => {
    const channels: string[] = [];
    const api = buildPreloadApi({ ...ipc(), subscribe: (c) => (channels.push(c), () => undefined) }, CALL_NAMES);
    api.on('runStatus', () => undefined);
    expect(channels).toEqual([EVENT_CHANNEL]);
    expect(() => api.on('shell' as never, () => undefined)).toThrow(/unknown event "shell"/);
  });
});

describe('the packaged app', () => {
  const build = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).build as Record<string, unknown>;

  it('sets Electron\'s fuses: no RunAsNode, no NODE_OPTIONS or inspect flags, asar integrity on', () => {
    expect(build.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('builds AppImage and deb, NSIS and dmg', () => {
    expect(build).toMatchObject({ linux: { target: ['AppImage', 'deb'] }, win: { target: ['nsis'] }, mac: { target: ['dmg'] } });
  });
});
