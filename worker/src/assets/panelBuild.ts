/**
 * Is the built panel (renderer/dist) there and up to date with the renderer's sources? `headroom
 * serve` builds it when it is missing or older than them, so a checkout that was set up but never
 * built (or was pulled since) serves the panel its code describes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HeadroomError } from '../errors.js';

export type PanelBuildState = { state: 'fresh' } | { state: 'missing' } | { state: 'stale'; newer: string };

/** What the renderer's bundle is made of: its folder (index.html, src/, vite config) and the contract it imports. */
export function panelSources(repoRoot: string): string[] {
  return [join(repoRoot, 'renderer', 'index.html'), join(repoRoot, 'renderer', 'vite.config.ts'), join(repoRoot, 'renderer', 'src'), join(repoRoot, 'worker', 'src', 'contract')];
}

/** The newest file under `paths` (folders walked), or null when none exists. */
function newestFile(paths: string[]): { path: string; mtimeMs: number } | null {
  let newest: { path: string; mtimeMs: number } | null = null;
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (stat.isFile() && (!newest || stat.mtimeMs > newest.mtimeMs)) {
      newest = { path, mtimeMs: stat.mtimeMs };
    }
  };
  paths.forEach(visit);
  return newest;
}

/** A path as the user knows it: relative to the checkout when inside it. */
const shown = (repoRoot: string, path: string): string => (relative(repoRoot, path).startsWith('..') ? path : relative(repoRoot, path));

/** 'missing' without dist/index.html; 'stale' when a source file is newer than it (naming one); else 'fresh'. */
export function panelBuildState(distDir: string, sources: string[]): PanelBuildState {
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) return { state: 'missing' };
  const newest = newestFile(sources);
  return newest && newest.mtimeMs > statSync(index).mtimeMs ? { state: 'stale', newer: newest.path } : { state: 'fresh' };
}

/**
 * Builds the panel into distDir with the repo's vite when it is missing or stale. A stale panel
 * that cannot be rebuilt is served as it is, with a warning; a missing one is an error saying how
 * to build it. Vite's output goes to stderr: stdout carries the URL.
 */
export function ensurePanelBuilt(options: { repoRoot: string; distDir: string; log: (line: string) => void }): void {
  const { repoRoot, distDir, log } = options;
  const build = panelBuildState(distDir, panelSources(repoRoot));
  if (build.state === 'fresh') return;
  const why = build.state === 'missing' ? `${shown(repoRoot, distDir)} is missing` : `${shown(repoRoot, build.newer)} changed since it was built`;
  const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const fix = 'run `npm run setup && npm run build:renderer`';
  if (!existsSync(vite)) {
    if (build.state === 'missing') throw new HeadroomError('usage', `the panel is not built (${why}) and vite is not installed to build it: ${fix}`);
    return log(`the panel is older than its sources (${why}) and vite is not installed to rebuild it: serving it as it is; ${fix}`);
  }
  log(`building the panel (${why}); this takes a few seconds`);
  // Built beside dist and swapped in: a failed build leaves the previous one served, and two
  // servers starting at once each swap in a whole build, never a half-written one.
  const building = `${distDir}.building-${process.pid}`;
  const result = spawnSync(process.execPath, [vite, 'build', join(repoRoot, 'renderer'), '--outDir', building, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (result.status === 0 && existsSync(join(building, 'index.html'))) return swapIn(building, distDir);
  rmSync(building, { recursive: true, force: true });
  const failed = `building the panel failed (vite exited ${result.status ?? result.signal ?? result.error?.message}; its output is above)`;
  if (build.state === 'missing') throw new HeadroomError('usage', `${failed}: ${fix} and read its errors`);
  log(`${failed}: serving the previous build`);
}

/** Replaces distDir by the finished build; where another server swapped in its own first, that one stays. */
function swapIn(building: string, distDir: string): void {
  const old = `${distDir}.old-${process.pid}`;
  try {
    renameSync(distDir, old);
  } catch {
    // none yet (or another server is swapping its own in)
  }
  try {
    renameSync(building, distDir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another build got there first: as fresh as ours
  }
  rmSync(old, { recursive: true, force: true });
}
