import { defineConfig } from '@playwright/test';
import { findBrowser, NO_BROWSER_HELP } from '../scripts/browser.mjs';

// $HEADROOM_CHROMIUM, else Debian's Chromium, else Playwright's own: what `npm run setup` found or
// installed (scripts/browser.mjs). Found here too so that `npm run test:e2e` alone says what is missing.
const browser = findBrowser();
if (!browser) throw new Error(`${NO_BROWSER_HELP}\n  (\`npm run setup\` installs one where apt or a download works)`);
export const CHROMIUM = browser.path;

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  timeout: 420_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    viewport: { width: 1360, height: 900 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    },
  },
});
