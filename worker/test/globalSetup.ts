/** Builds the tiny test model once per test run (a real sentence-transformers folder). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { pythonExecutable, RUNTIME_DIR } from '../src/python.js';

let root: string | undefined;

export function setup(project: TestProject): void {
  root = mkdtempSync(join(tmpdir(), 'headroom-models-'));
  const build = (name: string, seed: number): string => {
    const model = join(root!, name);
    execFileSync(pythonExecutable(), ['-m', 'headroom_runtime.tiny_model', model, '--seed', String(seed)], {
      env: { ...process.env, PYTHONPATH: RUNTIME_DIR, HF_HUB_DISABLE_PROGRESS_BARS: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return model;
  };
  project.provide('tinyModel', build('tiny', 0));
  project.provide('otherTinyModel', build('other-tiny', 1));
}

export function teardown(): void {
  if (root) rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    tinyModel: string;
    otherTinyModel: string;
  }
}
