/**
 * scripts/browser.mjs picks the browser the e2e tests drive: HEADROOM_CHROMIUM (checked), the
 * system's chromium, Playwright's own, and installs one in order when none is found. Fake
 * browsers are small shell scripts in a temp folder; nothing on the machine is touched.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptCommand, BrowserError, browserVersion, findBrowser, NO_BROWSER_HELP, provideBrowser, type FoundBrowser } from '../../../scripts/browser.mjs';
import { tempDir } from '../helpers.js';

function fakeBrowser(dir: string, name: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "Chromium 1.2.3 (${name})"\n`);
  chmodSync(path, mode);
  return path;
}

const none = (): null => null;

describe('findBrowser', () => {
  it('uses HEADROOM_CHROMIUM when it is executable, before any system browser', () => {
    const dir = tempDir();
    const chosen = fakeBrowser(dir, 'mine');
    const system = fakeBrowser(dir, 'system');
    expect(findBrowser({ env: { HEADROOM_CHROMIUM: chosen }, candidates: [system], bundled: none })).toEqual({ path: chosen, source: 'HEADROOM_CHROMIUM' });
  });

  it('refuses a HEADROOM_CHROMIUM that is missing or not executable, naming it, rather than using another browser', () => {
    const dir = tempDir();
    const system = fakeBrowser(dir, 'system');
    for (const bad of [join(dir, 'missing'), fakeBrowser(dir, 'not-executable', 0o644), dir]) {
      const find = () => findBrowser({ env: { HEADROOM_CHROMIUM: bad }, candidates: [system], bundled: none });
      expect(find).toThrow(BrowserError);
      expect(find).toThrow(`HEADROOM_CHROMIUM=${bad} is not an executable file`);
    }
  });

  it('takes the first executable system browser, then Playwright\'s own, else none', () => {
    const dir = tempDir();
    const candidates = [join(dir, 'chromium'), fakeBrowser(dir, 'plain-file', 0o644), fakeBrowser(dir, 'chromium-browser')];
    expect(findBrowser({ env: {}, candidates, bundled: none })).toEqual({ path: candidates[2], source: 'system' });
    const own = fakeBrowser(dir, 'playwright-chrome');
    expect(findBrowser({ env: {}, candidates: candidates.slice(0, 2), bundled: () => own })).toEqual({ path: own, source: 'playwright' });
    expect(findBrowser({ env: {}, candidates: candidates.slice(0, 2), bundled: none })).toBeNull();
  });
});

describe('provideBrowser', () => {
  it('returns the browser found without installing anything', () => {
    const found: FoundBrowser = { path: '/usr/bin/chromium', source: 'system' };
    const installers = [{ what: 'never', install: () => expect.unreachable('nothing to install') }];
    expect(provideBrowser({ find: () => found, installers })).toBe(found);
  });

  it('tries each installer in order until one gives a browser', () => {
    const dir = tempDir();
    let installed: string | null = null;
    const tried: string[] = [];
    const said: string[] = [];
    const installers = [
      { what: 'apt (unusable here)', install: () => (tried.push('apt'), false) },
      { what: 'a download', install: () => (tried.push('download'), (installed = fakeBrowser(dir, 'downloaded')), true) },
      { what: 'never reached', install: () => (tried.push('late'), true) },
    ];
    const find = () => (installed ? { path: installed, source: 'playwright' as const } : null);
    const got = provideBrowser({ find, installers, say: (text) => said.push(text) });
    expect(got.path).toBe(join(dir, 'downloaded'));
    expect(tried).toEqual(['apt', 'download']);
    expect(said.join('\n')).toContain('trying apt (unusable here)');
    expect(browserVersion(got.path)).toBe('Chromium 1.2.3 (downloaded)');
  });

  it('says what to do when no installer gives a browser', () => {
    const installers = [{ what: 'apt', install: () => true }, { what: 'download', install: () => false }];
    expect(() => provideBrowser({ find: none, installers })).toThrow(NO_BROWSER_HELP);
    expect(NO_BROWSER_HELP).toContain('HEADROOM_CHROMIUM=');
    expect(NO_BROWSER_HELP).toContain('apt-get install chromium');
  });
});

describe('aptCommand', () => {
  it('uses apt-get directly as root, never without apt-get', () => {
    expect(aptCommand({ uid: 0, has: () => true })).toEqual([]);
    expect(aptCommand({ uid: 0, has: (name) => name !== 'apt-get' })).toBeNull();
    expect(aptCommand({ uid: 1000, has: (name) => name === 'apt-get' })).toBeNull(); // no sudo: not tried
  });
});

describe('on this machine', () => {
  const real = (() => {
    try {
      return findBrowser();
    } catch {
      return null;
    }
  })();
  it.runIf(real)('the browser found starts', () => {
    expect(browserVersion(real!.path)).toMatch(/chrom/i);
  });
});
