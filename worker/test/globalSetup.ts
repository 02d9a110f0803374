/** Builds the tiny test models once per test run (a real sentence-transformers folder). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { pythonExecutable, RUNTIME_DIR } from '../src/runtimePaths.js';

let root: string | undefined;

export function setup(project: TestProject): void {
  root = mkdtempSync(join(tmpdir(), 'headroom-models-'));
  const build = (name: string, seed: number, extra: string[] = []): string => {
    const model = join(root!, name);
    execFileSync(pythonExecutable(), ['-m', 'headroom_dev.tiny_model', model, '--seed', String(seed), ...extra], {
      env: { ...process.env, PYTHONPATH: RUNTIME_DIR, HF_HUB_DISABLE_PROGRESS_BARS: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return model;
  };
  project.provide('tinyModel', build('tiny', 0));
  project.provide('otherTinyModel', build('other-tiny', 1));
  // Wider and deeper: another dimension and about four times the parameters, for ensembles.
  project.provide('wideTinyModel', build('wide-tiny', 2, ['--dim', '64', '--layers', '3']));
}

export function teardown(): void {
  if (root) rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    tinyModel: string;
    otherTinyModel: string;
    wideTinyModel: string;
  }
}
