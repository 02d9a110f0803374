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
  const model = join(root, 'tiny');
  execFileSync(pythonExecutable(), ['-m', 'headroom_runtime.tiny_model', model], {
    env: { ...process.env, PYTHONPATH: RUNTIME_DIR },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('tinyModel', model);
}

export function teardown(): void {
  if (root) rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    tinyModel: string;
  }
}
