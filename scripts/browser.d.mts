// Types of scripts/browser.mjs, for e2e/playwright.config.ts and its unit test.
export interface FoundBrowser {
  path: string;
  source: 'HEADROOM_CHROMIUM' | 'system' | 'playwright';
}
export interface Installer {
  what: string;
  install(): boolean;
}
export const SYSTEM_CHROMIUMS: string[];
export const NO_BROWSER_HELP: string;
export const INSTALLERS: Installer[];
export class BrowserError extends Error {}
export function isExecutable(path: string): boolean;
export function playwrightChromium(): string | null;
export function findBrowser(options?: { env?: NodeJS.ProcessEnv; candidates?: string[]; bundled?: () => string | null }): FoundBrowser | null;
export function aptCommand(options?: { uid?: number; has?: (command: string) => boolean }): string[] | null;
export function provideBrowser(options?: { find?: () => FoundBrowser | null; installers?: Installer[]; say?: (text: string) => void }): FoundBrowser;
export function browserVersion(path: string): string | null;
