/** The fake nvidia-smi (worker/test/fixtures/fake-nvidia-smi/): a scenario file of recorded replies per query. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/runtimePaths.js';
import { tempDir } from '../helpers.js';

export const FAKE_SMI_DIR = join(REPO_ROOT, 'worker', 'test', 'fixtures', 'fake-nvidia-smi');
export const FAKE_SMI = join(FAKE_SMI_DIR, 'nvidia-smi');

export interface Reply {
  stdout?: string;
  stderr?: string;
  code?: number;
  sleepMs?: number;
}

export interface Scenario {
  gpu: Reply[];
  apps: Reply[];
}

/** Writes a scenario; returns the env that points the fake at it (and PATH with the fake first). */
export function scenario(replies: Scenario): { env: NodeJS.ProcessEnv; path: string; calls: (query: 'gpu' | 'apps') => number } {
  const path = join(tempDir('headroom-smi-'), 'scenario.json');
  writeFileSync(path, JSON.stringify(replies));
  const calls = (query: 'gpu' | 'apps'): number => {
    try {
      return Number(readFileSync(`${path}.count-${query}`, 'utf8'));
    } catch {
      return 0;
    }
  };
  return { env: { ...process.env, FAKE_SMI_SCENARIO: path, PATH: `${FAKE_SMI_DIR}:${process.env.PATH ?? ''}` }, path, calls };
}

export const T4 = (index: number, uuid: string, usedMiB: number, extra = '37, 45, 27.5, 70.0'): string => `${index}, ${uuid}, Tesla T4, ${usedMiB}, 15360, ${extra}\n`;
export const MIB = 1024 ** 2;
