/** `headroom doctor`, the real CLI: every check named, each failing one with a fix. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers.js';

describe('headroom doctor', () => {
  it('checks Python, torch, the default model, nvidia-smi and disk, and says what to fix', async () => {
    const runsDir = join(tempDir(), 'runs');
    const result = await cli(['doctor', '--json', '--runs-dir', runsDir]);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; fix: string | null }[] };
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(Object.keys(byName)).toEqual(['Python', 'torch', 'sentence-transformers', 'optuna', 'CUDA', 'Default model', 'nvidia-smi', 'Disk space']);
    expect(byName.Python!.ok && byName.torch!.ok && byName.optuna!.ok && byName['Default model']!.ok).toBe(true);
    for (const check of report.checks) expect(check.ok || (check.fix !== null && check.fix.length > 10)).toBe(true);
  });
});
