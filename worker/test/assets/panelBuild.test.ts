/**
 * `headroom serve` builds the panel when renderer/dist is missing or older than the renderer's
 * sources: the state on fake trees (mtimes set), then one real vite build into a temp folder.
 */
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePanelBuilt, panelBuildState, panelSources } from '../../src/assets/panelBuild.js';
import { REPO_ROOT } from '../../src/runtimePaths.js';
import { tempDir } from '../helpers.js';

function fileAt(path: string, secondsAgo: number): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, 'x');
  const when = Date.now() / 1000 - secondsAgo;
  utimesSync(path, when, when);
  return path;
}

describe('panelBuildState', () => {
  it('is missing without dist/index.html, stale when a source (however deep) is newer, else fresh', () => {
    const root = tempDir();
    const dist = join(root, 'dist');
    const src = join(root, 'src');
    fileAt(join(src, 'a.tsx'), 300);
    expect(panelBuildState(dist, [src])).toEqual({ state: 'missing' });
    fileAt(join(dist, 'index.html'), 200);
    expect(panelBuildState(dist, [src, join(root, 'no-such-file')])).toEqual({ state: 'fresh' });
    const edited = fileAt(join(src, 'views', 'deep', 'b.tsx'), 100);
    expect(panelBuildState(dist, [src])).toEqual({ state: 'stale', newer: edited });
  });

  it('watches the renderer and the contract it imports', () => {
    const sources = panelSources('/repo');
    expect(sources).toContain('/repo/renderer/src');
    expect(sources).toContain('/repo/worker/src/contract');
  });
});

describe('ensurePanelBuilt', () => {
  it('builds a missing panel with the repo\'s vite, then leaves a fresh one alone', () => {
    const dist = join(tempDir(), 'dist');
    const said: string[] = [];
    ensurePanelBuilt({ repoRoot: REPO_ROOT, distDir: dist, log: (line) => said.push(line) });
    expect(said.join('\n')).toMatch(/building the panel \(.*dist is missing\)/);
    expect(readdirSync(dist)).toContain('index.html');
    expect(readdirSync(dirname(dist))).toEqual(['dist']); // no build folder left beside it
    expect(panelBuildState(dist, panelSources(REPO_ROOT))).toEqual({ state: 'fresh' });
    said.length = 0;
    ensurePanelBuilt({ repoRoot: REPO_ROOT, distDir: dist, log: (line) => said.push(line) });
    expect(said).toEqual([]);
  });

  it('without vite: a missing panel is an error saying how to build it; a stale one is served with a warning', () => {
    const repo = tempDir();
    fileAt(join(repo, 'renderer', 'src', 'main.tsx'), 10);
    const dist = join(repo, 'renderer', 'dist');
    expect(() => ensurePanelBuilt({ repoRoot: repo, distDir: dist, log: () => {} })).toThrow(/the panel is not built \(renderer\/dist is missing\).*npm run build:renderer/);
    fileAt(join(dist, 'index.html'), 100);
    const said: string[] = [];
    ensurePanelBuilt({ repoRoot: repo, distDir: dist, log: (line) => said.push(line) });
    expect(said.join('\n')).toMatch(/older than its sources \(renderer\/src\/main\.tsx changed since it was built\).*serving it as it is/);
  });
});
