/**
 * The layering rules in eslint.config.js fail on a planted upward import and pass
 * the real tree. Planted files are linted as text under a path in the tree (nothing
 * is written); their imports name real files, so the resolver follows them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const ZONE = 'import-x/no-restricted-paths';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

/** The layering errors (import-x rules) ESLint reports on `code` as if it were the file at `filePath`. */
async function layering(filePath: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(`${code}\nexport const planted = 1;\n`, { filePath: join(root, filePath) });
  return result!.messages.filter((m) => m.ruleId?.startsWith('import-x/') ?? m.fatal);
}

async function expectZoneError(filePath: string, importPath: string, says: string): Promise<void> {
  const messages = await layering(filePath, `import '${importPath}';`);
  expect(messages.length, `${filePath} importing ${importPath}`).toBeGreaterThan(0);
  for (const m of messages) expect(m).toMatchObject({ ruleId: ZONE, severity: 2 });
  expect(messages.map((m) => m.message).join('\n')).toContain(says);
}

async function expectClean(filePath: string, importPath: string): Promise<void> {
  expect(await layering(filePath, `import '${importPath}';`), `${filePath} importing ${importPath}`).toEqual([]);
}

describe('the layering lint fails on a planted upward import', () => {
  it('(a) the contract imports nothing but zod and itself', async () => {
    await expectZoneError('worker/src/contract/planted.ts', '../runs/journal.js', 'contract/ imports nothing but zod');
    await expectZoneError('worker/src/contract/planted.ts', 'commander', 'contract/ imports nothing but zod');
    const typeOnly = await layering('worker/src/contract/planted.ts', "import type { BaseRecord } from '../runs/journal.js';\nexport type { BaseRecord };");
    expect(typeOnly, 'a type-only import counts too').toMatchObject([{ ruleId: ZONE, severity: 2 }]);
    const reExport = await layering('worker/src/contract/jobs/planted.ts', "export * from '../../panel/doctor.js';");
    expect(reExport, 'a re-export counts too').toMatchObject([{ ruleId: ZONE, severity: 2 }]);
    const builtin = await layering('worker/src/contract/planted.ts', "import 'node:fs';");
    expect(builtin).toMatchObject([{ ruleId: 'import-x/no-nodejs-modules', severity: 2 }]);
    await expectClean('worker/src/contract/planted.ts', 'zod');
    await expectClean('worker/src/contract/planted.ts', './protocol.js');
  });

  it('(b) generic folders never import a job kind', async () => {
    await expectZoneError('worker/src/runs/planted.ts', '../jobs/embed/embedRun.js', 'generic code never imports a job kind');
    await expectZoneError('worker/src/supervisor/planted.ts', '../jobs/embed/chunks/npy.js', 'generic code never imports a job kind');
    await expectZoneError('worker/src/planted.ts', './jobs/embed/defaults.js', 'generic code never imports a job kind');
    await expectClean('worker/src/runs/planted.ts', '../contract/api.js');
    await expectClean('worker/src/panel/planted.ts', '../runs/journal.js');
  });

  it.runIf(existsSync(join(root, 'worker/src/jobs/job.ts')))('(b) generic folders may import the Job interface and the registry, which name no kind', async () => {
    await expectClean('worker/src/runs/planted.ts', '../jobs/job.js');
    await expectZoneError('worker/src/jobs/registry.ts', './embed/embedRun.js', 'generic code never imports a job kind');
    await expectClean('worker/src/panel/planted.ts', '../jobs/registry.js');
  });

  it.runIf(existsSync(join(root, 'worker/src/jobs/builtin.ts')))('(b) only the entry points import jobs/builtin.ts', async () => {
    await expectZoneError('worker/src/panel/planted.ts', '../jobs/builtin.js', 'only the entry points');
    await expectZoneError('worker/src/cli/planted.ts', '../jobs/builtin.js', 'only the entry points');
    await expectClean('worker/src/cli/serve.ts', '../jobs/builtin.js');
    await expectClean('electron/src/planted.ts', '../../worker/src/jobs/builtin.js');
  });

  it('(c) a job folder never imports panel/, server/ or cli/', async () => {
    await expectZoneError('worker/src/jobs/embed/planted.ts', '../../panel/runManager.js', "never imports another kind's folder, nor panel/");
    await expectZoneError('worker/src/jobs/embed/chunks/planted.ts', '../../../server/server.js', "never imports another kind's folder, nor panel/");
    await expectClean('worker/src/jobs/embed/planted.ts', '../../runs/journal.js');
    await expectClean('worker/src/jobs/embed/planted.ts', './chunks/npy.js');
  });

  it('(d) the renderer imports only the contract from outside renderer/', async () => {
    await expectZoneError('renderer/src/planted.ts', '../../worker/src/runs/journal.js', 'the renderer imports only worker/src/contract/');
    await expectZoneError('renderer/src/views/planted.tsx', '../../../worker/src/redact.ts', 'the renderer imports only worker/src/contract/');
    await expectClean('renderer/src/views/planted.tsx', '../../../worker/src/contract/api.ts');
    await expectClean('renderer/src/planted.ts', 'zustand');
  });

  it('(e) nothing imports the server or the CLI but their entry points', async () => {
    await expectZoneError('electron/src/planted.ts', '../../worker/src/server/server.js', 'nothing imports worker/src/server/');
    await expectZoneError('worker/src/panel/planted.ts', '../server/server.js', 'nothing imports worker/src/server/');
    await expectZoneError('worker/src/server/planted.ts', '../cli/main.js', 'nothing imports worker/src/cli/');
    await expectZoneError('electron/src/planted.ts', '../../worker/src/cli/main.js', 'nothing imports worker/src/cli/');
    await expectClean('worker/src/cli/serve.ts', '../server/server.js');
    await expectClean('electron/src/planted.ts', '../../worker/src/assets/webAssets.js');
    await expectClean('bin/planted.mjs', '../worker/src/cli/main.ts');
  });

  it('an import the resolver cannot follow is an error, never a silent pass', async () => {
    expect(await layering('worker/src/contract/planted.ts', "import '../runs/no-such-file.js';")).toMatchObject([{ ruleId: 'import-x/no-unresolved', severity: 2 }]);
  });
});

describe('the layering lint on the real tree', () => {
  it('reports no layering error in worker/src, electron/src, renderer/ or bin/', async () => {
    const results = await eslint.lintFiles(['worker/src', 'electron/src', 'renderer', 'bin']);
    expect(results.length).toBeGreaterThan(50);
    const found = results.flatMap((r) => r.messages.filter((m) => m.ruleId?.startsWith('import-x/') ?? m.fatal).map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(found).toEqual([]);
  });
});
