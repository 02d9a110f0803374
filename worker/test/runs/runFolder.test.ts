/**
 * Issue 9, class 3: no run id reaches outside the runs folder. Every call that
 * takes a run id gets generated ids (dots, paths, NUL, unicode, very long ones,
 * and the names of symlinks planted in the runs folder) and must answer
 * bad_args or not_found while every file outside the runs folder, and the
 * runs folder itself, stays exactly as it was.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, checkCall, type CallName } from '../../src/contract/api.js';
import { RunManager } from '../../src/panel/runManager.js';
import { tempDir } from '../helpers.js';

const CALLS_WITH_ID = ['deleteCache', 'setPolicy', 'resumeRun', 'stopRun', 'pauseRun', 'info'] as const;
type IdCall = (typeof CALLS_WITH_ID)[number];

/** Every entry under `root` (not following symlinks): its kind and content, or its link target. */
function snapshot(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) entries.set(path, `link ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        entries.set(path, 'dir');
        walk(path);
      } else entries.set(path, `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    }
  };
  walk(root);
  return entries;
}

let root: string;
let runsDir: string;
let manager: RunManager;
let before: Map<string, string>;

// Names planted in the runs folder that must be refused although they look like run ids.
const PLANTED = ['link-out', 'link-parent', 'link-abs', 'link-inside', 'link-json', 'a-file', 'no-manifest'];

beforeAll(() => {
  root = tempDir('runids-');
  // root/outer/runs is the runs folder; outer and root hold sentinels, and outer even has a run.json
  // (the old code deleted the runs folder's parent for "..").
  const outer = join(root, 'outer');
  runsDir = join(outer, 'runs');
  mkdirSync(runsDir, { recursive: true });
  writeFileSync(join(root, 'sentinel.txt'), 'outside, two levels up');
  writeFileSync(join(outer, 'sentinel.txt'), 'outside, the parent');
  writeFileSync(join(outer, 'run.json'), '{}');
  const outsideRun = join(outer, 'outside-run');
  mkdirSync(outsideRun);
  writeFileSync(join(outsideRun, 'run.json'), '{}');
  writeFileSync(join(outsideRun, 'sentinel.txt'), 'a run folder outside the runs folder');
  const inside = join(runsDir, 'real-run');
  mkdirSync(inside);
  writeFileSync(join(inside, 'run.json'), '{}');
  writeFileSync(join(inside, 'sentinel.txt'), 'a run inside');
  symlinkSync('../outside-run', join(runsDir, 'link-out'));
  symlinkSync('..', join(runsDir, 'link-parent'));
  symlinkSync(outsideRun, join(runsDir, 'link-abs'));
  symlinkSync('real-run', join(runsDir, 'link-inside'));
  mkdirSync(join(runsDir, 'link-json'));
  symlinkSync(join(outsideRun, 'run.json'), join(runsDir, 'link-json', 'run.json'));
  writeFileSync(join(runsDir, 'a-file'), 'not a folder');
  mkdirSync(join(runsDir, 'no-manifest'));
  manager = new RunManager({ runsDir, monitorGpus: false });
  before = snapshot(root);
});

afterAll(async () => {
  await manager.close();
});

/** Calls `name` with `runId` as a transport does (checkCall first), or straight into the manager. */
async function attempt(name: IdCall, runId: unknown, checked: boolean): Promise<unknown> {
  try {
    if (name === 'info') {
      manager.info(runId as string);
      return undefined;
    }
    const args = name === 'setPolicy' ? { runId, oom: 'truncate' } : { runId };
    return await manager.call(name as CallName, checked ? checkCall(name, args).args : args);
  } catch (error) {
    return error;
  }
}

async function expectRefused(runId: unknown): Promise<void> {
  for (const name of CALLS_WITH_ID) {
    for (const checked of [true, false]) {
      const error = await attempt(name, runId, checked);
      const where = `${name}(${JSON.stringify(runId)})${checked ? ' via checkCall' : ''}`;
      expect(error, where).toBeInstanceOf(ApiError);
      expect((error as ApiError).code, `${where}: ${(error as Error).message}`).toMatch(/^(bad_args|not_found)$/);
      expect((error as Error).message.length, where).toBeLessThan(400);
    }
  }
}

const nasty = (): unknown[] => [
  '.', '..', '...', '....', './', '../', '../..', '../outside-run', '..\\..', '..\\outside-run', 'a/../..', 'real-run/..', 'real-run/../..',
  '/', '\\', '/etc', root, 'C:\\Windows', '\\\\server\\share', '\0', 'a\0b', '..\0', 'real-run\0', '\u2028', 'é', 'ｒｅａｌ－ｒｕｎ', '\u202e..',
  '%2e%2e', '~', '$HOME', '', ' ', '.hidden', 'run.', 'CON', 'nul.txt', 'x'.repeat(101), 'x'.repeat(100_000), ...PLANTED,
];

describe('run ids that escape the runs folder', () => {
  it('are refused for the known nasty ones, symlinks planted in the runs folder included', async () => {
    for (const runId of [...nasty(), 42, null, { runId: '..' }]) await expectRefused(runId);
    expect(snapshot(root)).toEqual(before);
  });

  it('are refused for generated ids: dotted, path-like, unicode, control characters, long', async () => {
    const segment = fc.constantFrom('.', '..', '...', '', 'runs', 'outer', 'outside-run', 'real-run', 'link-out', 'link-parent', '\0', 'é');
    const ids = fc.oneof(
      fc.tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('/', '\\', '/./', '\0')).map(([parts, sep]) => parts.join(sep)),
      fc.stringMatching(/^[A-Za-z0-9._-]{1,100}$/), // the old pattern's own ids
      fc.string({ unit: fc.constantFrom('.', '/', '\\', '\0', 'a', '-'), minLength: 1, maxLength: 12 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.nat({ max: 5000 }).map((length) => `${'.'.repeat(length % 7)}${'a'.repeat(length)}`),
    ).filter((id) => id !== 'real-run'); // the one real run: it answers, as it should
    await fc.assert(
      fc.asyncProperty(ids, async (runId) => {
        await expectRefused(runId);
      }),
      { numRuns: 400, seed: Number(process.env.HEADROOM_TEST_SEED ?? 9003) },
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('still finds a real run, through a runs folder that is itself a symlink, and deletes only it', async () => {
    const alias = join(root, 'runs-alias');
    symlinkSync(runsDir, alias);
    const viaAlias = new RunManager({ runsDir: alias, monitorGpus: false });
    try {
      const { freedBytes } = (await viaAlias.call('deleteCache', { runId: 'real-run' })) as { freedBytes: number };
      expect(freedBytes).toBe('{}'.length + 'a run inside'.length);
    } finally {
      await viaAlias.close();
    }
    const after = snapshot(root);
    const gone = [...before.keys()].filter((path) => !after.has(path));
    expect(gone.sort()).toEqual([join(runsDir, 'real-run'), join(runsDir, 'real-run', 'run.json'), join(runsDir, 'real-run', 'sentinel.txt')]);
    expect([...after.keys()].filter((path) => !before.has(path))).toEqual([alias]);
  });
});
