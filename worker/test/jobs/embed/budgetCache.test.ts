import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuntimeEvent } from '../../../src/contract/protocol.js';
import { budgetKey, faultInjection, learnedBudget, rememberBudget } from '../../../src/jobs/embed/budgetCache.js';

const FP = 'a'.repeat(64);

const GIB = 1024 ** 3;
const loaded = (over: Partial<RuntimeEvent<'pass_started'>> = {}): RuntimeEvent<'pass_started'> => ({
  type: 'pass_started',
  model: 'key',
  name: 'm',
  source: 'folder',
  device: 'cuda:0',
  deviceName: 'NVIDIA H100',
  dtype: 'float16',
  dim: 384,
  maxSeqLen: 256,
  capacity: 80 * GIB,
  free: 75 * GIB,
  ms: 1,
  loaded: true,
  resident: 1,
  ...over,
});

describe('learned budgets', () => {
  it('are keyed by model, its fingerprint, dtype, device, max length and free-memory bucket', () => {
    const base = budgetKey(loaded(), FP);
    expect(budgetKey(loaded({ free: 74.5 * GIB }), FP)).toBe(base); // same 2 GiB bucket
    expect(budgetKey(loaded(), 'b'.repeat(64))).not.toBe(base); // other files under the same name
    for (const other of [
      { name: 'other' },
      { dtype: 'float32' },
      { deviceName: 'Tesla T4' },
      { maxSeqLen: 512 },
      { free: 20 * GIB },
      { device: 'cpu', deviceName: 'cpu', capacity: null, free: null },
    ]) {
      expect(budgetKey(loaded(other), FP)).not.toBe(base);
    }
  });

  it('are remembered per key and survive a damaged cache file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'budgets-')), 'budgets.json');
    expect(learnedBudget('a', path)).toBeNull();
    rememberBudget('a', 4096, path);
    rememberBudget('b', 512, path);
    expect(learnedBudget('a', path)).toBe(4096);
    expect(learnedBudget('b', path)).toBe(512);
    writeFileSync(path, '{"version":1,"budg');
    expect(learnedBudget('a', path)).toBeNull(); // only a cache: start over, do not fail
    rememberBudget('a', 1024, path);
    expect(learnedBudget('a', path)).toBe(1024);
  });

  it('are never taught by a worker under injected faults', () => {
    expect(faultInjection({ PATH: '/bin', HEADROOM_CACHE_DIR: '/x' })).toBe(false);
    expect(faultInjection({ HEADROOM_FAULT_OOM_TOKENS: '' })).toBe(false);
    for (const name of ['HEADROOM_FAULT_OOM_TOKENS', 'HEADROOM_FAULT_OOM_KIND', 'HEADROOM_FAULT_KILL_AFTER_RENAME', 'HEADROOM_FAULT_ANYTHING_NEW']) {
      expect(faultInjection({ [name]: '1' })).toBe(true);
    }
  });
});
