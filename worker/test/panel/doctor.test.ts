/** `headroom doctor`, the real CLI: every check named, each failing one with a fix. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/panel/doctor.js';
import { cli, tempDir } from '../helpers.js';

const TREE_LIBRARIES = ['xgboost', 'lightgbm', 'catboost'];

describe('headroom doctor', () => {
  it('checks Python, torch, the default model, nvidia-smi and disk, and says what to fix', async () => {
    const runsDir = join(tempDir(), 'runs');
    const result = await cli(['doctor', '--json', '--runs-dir', runsDir]);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; fix: string | null }[] };
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    // The tree libraries' checks (a runtime that reports them) come after optuna.
    const names = Object.keys(byName);
    expect(names.filter((name) => !TREE_LIBRARIES.includes(name))).toEqual(['Python', 'torch', 'sentence-transformers', 'optuna', 'CUDA', 'Default model', 'nvidia-smi', 'Disk space']);
    const trees = names.filter((name) => TREE_LIBRARIES.includes(name));
    expect(names.slice(names.indexOf('optuna') + 1, names.indexOf('optuna') + 1 + trees.length)).toEqual(trees);
    expect(byName.Python!.ok && byName.torch!.ok && byName.optuna!.ok && byName['Default model']!.ok).toBe(true);
    for (const check of report.checks) expect(check.ok || (check.fix !== null && check.fix.length > 10)).toBe(true);
  });

  it('makes one check per tree library the runtime reports: ok when installed (version, GPU build), the fix when missing', async () => {
    const dir = tempDir();
    const facts = {
      python: '3.12.0',
      torch: '2.5',
      sentenceTransformers: '5.0',
      optuna: '4.1',
      treeLibraries: [
        { family: 'xgboost', version: '3.2.0', gpu: true, fix: null },
        { family: 'lightgbm', version: '4.7.0', gpu: false, fix: null },
        { family: 'catboost', version: null, gpu: null, fix: 'pip install catboost' },
      ],
      cuda: false,
      devices: [],
      defaultModel: 'm',
      error: null,
    };
    const python = join(dir, 'python');
    writeFileSync(python, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify(facts)}\nEOF\n`);
    chmodSync(python, 0o755);
    const report = await runDoctor({ runsDir: dir, python });
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(byName.xgboost).toMatchObject({ ok: true, detail: expect.stringMatching(/^3\.2\.0, GPU build: yes/), fix: null });
    expect(byName.lightgbm).toMatchObject({ ok: true, detail: expect.stringMatching(/GPU build: no/) });
    expect(byName.catboost).toMatchObject({ ok: false, detail: expect.stringMatching(/not importable/), fix: 'pip install catboost' });
    // An older runtime's report has no treeLibraries: no tree checks, nothing else changes.
    const { treeLibraries, ...older } = facts;
    void treeLibraries;
    writeFileSync(python, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify(older)}\nEOF\n`);
    const old = await runDoctor({ runsDir: dir, python });
    expect(old.checks.map((check) => check.name).filter((name) => TREE_LIBRARIES.includes(name))).toEqual([]);
  });
});
