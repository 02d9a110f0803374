// The Chromium the e2e tests drive: found by e2e/playwright.config.ts, found or installed by
// scripts/setup.mjs (so `npm test` works on a fresh machine). Node built-ins only.
// Order: $HEADROOM_CHROMIUM (must be executable), Debian/Ubuntu's chromium, Playwright's own
// download; setup.mjs installs, in turn, Debian's chromium where apt can be used (root or
// passwordless sudo), then Playwright's own (where it can be downloaded).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

export const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const NO_BROWSER_HELP = [
  'no Chromium for the browser tests. Either:',
  '  - install Debian/Ubuntu\'s:   sudo apt-get install chromium',
  '  - or Playwright\'s own:       npx playwright install --with-deps chromium',
  '  - or name one you have:      HEADROOM_CHROMIUM=/path/to/chromium npm test',
].join('\n');

export class BrowserError extends Error {}

/** True for a regular file this user may execute. */
export function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Playwright's downloaded Chromium, or null where it was never downloaded (or Playwright is not installed). */
export function playwrightChromium() {
  try {
    const { chromium } = createRequire(import.meta.url)('playwright-core');
    const path = chromium.executablePath();
    return path && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

/**
 * The browser to use, `{ path, source }` (source: 'HEADROOM_CHROMIUM', 'system' or 'playwright'),
 * or null when there is none. Throws BrowserError when HEADROOM_CHROMIUM names no executable:
 * a path the user chose is never silently replaced by another browser.
 */
export function findBrowser({ env = process.env, candidates = SYSTEM_CHROMIUMS, bundled = playwrightChromium } = {}) {
  const chosen = env.HEADROOM_CHROMIUM;
  if (chosen) {
    if (!isExecutable(chosen)) throw new BrowserError(`HEADROOM_CHROMIUM=${chosen} is not an executable file: point it at a Chromium binary, or unset it`);
    return { path: chosen, source: 'HEADROOM_CHROMIUM' };
  }
  const system = candidates.find(isExecutable);
  if (system) return { path: system, source: 'system' };
  const own = bundled();
  return own ? { path: own, source: 'playwright' } : null;
}

/** apt-get as root, or through passwordless sudo; null where apt cannot be used without asking. */
export function aptCommand({ uid = process.getuid?.() ?? -1, has = commandExists } = {}) {
  if (!has('apt-get')) return null;
  if (uid === 0) return [];
  return has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : null;
}

function commandExists(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function runQuiet(argv, env = process.env) {
  return spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
}

/** Each way to install a browser, tried in order until one gives a browser. Each returns whether it ran. */
export const INSTALLERS = [
  {
    what: "Debian's chromium (apt-get)",
    install: () => {
      const prefix = aptCommand();
      if (prefix === null) return false;
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      return runQuiet([...prefix, 'apt-get', 'update', '-qq'], env) && runQuiet([...prefix, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium'], env);
    },
  },
  {
    what: "Playwright's own Chromium (npx playwright install chromium)",
    install: () => runQuiet(['npx', '--no-install', 'playwright', 'install', 'chromium']),
  },
];

/**
 * The browser found, else installed by the first installer that works. Throws BrowserError with
 * NO_BROWSER_HELP when none can be had, or when HEADROOM_CHROMIUM is wrong.
 */
export function provideBrowser({ find = findBrowser, installers = INSTALLERS, say = () => {} } = {}) {
  const found = find();
  if (found) return found;
  for (const installer of installers) {
    say(`no Chromium found for the browser tests: trying ${installer.what}`);
    if (!installer.install()) continue;
    const now = find();
    if (now) return now;
  }
  throw new BrowserError(NO_BROWSER_HELP);
}

/** The browser's version line (e.g. "Chromium 139.0.7258.154"), or null when it does not start. */
export function browserVersion(path) {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : null;
}
