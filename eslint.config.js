// @ts-check
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------
// The layering (docs/architecture.md, DESIGN.md "Jobs"): imports go one way,
//   contract <- generic <- jobs/<kind> <- panel/CLI/server <- shells (electron/, bin/).
// Checked by import-x/no-restricted-paths on the *resolved* file of each import
// (so `../runs/journal.js` is worker/src/runs/journal.ts whatever the spelling),
// with import-x/no-unresolved beside it so that an import the resolver cannot
// follow is an error, never a silent pass. worker/test/lint/layers.test.ts
// plants upward imports and checks each of these zones fails on one.
// ---------------------------------------------------------------------------
const root = import.meta.dirname;
const at = (/** @type {string} */ p) => join(root, p);
const src = (/** @type {string} */ p) => at(`worker/src/${p}`);

/** The kinds of job: each folder under worker/src/jobs/ (adding a kind adds a folder, no edit here). */
const KINDS = readdirSync(src('jobs'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

/** Generic code, written against the Job interface (jobs/job.ts, jobs/registry.ts), never against a kind. */
const GENERIC = ['runs', 'supervisor', 'corpus', 'panel', 'server', 'cli', 'assets'].map((d) => src(`${d}/**`)).concat(src('*.ts'));

/** @typedef {{ target: string | string[], from: string | string[], except?: string[], message: string }} Zone */

/** @type {Zone} (a) */
const contractIsALeaf = {
  target: src('contract/**'),
  from: at('**'),
  except: [src('contract/**'), at('node_modules/zod/**')],
  message: 'worker/src/contract/ imports nothing but zod and contract/ itself (it is what every side shares).',
};

/** @type {Zone} (b) */
const genericNeverImportsAKind = {
  // jobs/job.ts and jobs/registry.ts too: only jobs/builtin.ts names the kinds.
  target: [...GENERIC, src('jobs/!(builtin).ts')],
  from: src('jobs/*/**'),
  message: 'generic code never imports a job kind\'s folder: go through jobs/job.ts and jobs/registry.ts.',
};

/** @type {Zone} (b) only the entry points register the built-in kinds. */
const onlyEntryPointsImportBuiltin = {
  target: [
    ...['contract', 'runs', 'supervisor', 'corpus', 'panel', 'server', 'assets', 'jobs'].map((d) => src(`${d}/**`)),
    src('*.ts'),
    src('cli/!(main|serve).ts'),
    at('renderer/**'),
  ],
  from: src('jobs/builtin.ts'),
  message: 'only the entry points (cli/main.ts, cli/serve.ts, electron/src/) import jobs/builtin.ts.',
};

/** @type {Zone[]} (c) a job folder stands on generic code only. */
const jobsStayInTheirFolder = KINDS.map((kind) => ({
  target: src(`jobs/${kind}/**`),
  from: [src('jobs/*/**'), src('panel/**'), src('server/**'), src('cli/**')],
  except: [src(`jobs/${kind}/**`)],
  message: `jobs/${kind}/ never imports another kind's folder, nor panel/, server/ or cli/.`,
}));

/** @type {Zone} (d) renderer/test/ is a test folder (Node, vitest): it may drive the renderer's store with the Engine's own code. */
const rendererSeesOnlyTheContract = {
  target: at('renderer/!(test)/**'),
  from: at('**'),
  except: [at('renderer/**'), src('contract/**'), at('node_modules/**')],
  message: 'the renderer imports only worker/src/contract/ from outside renderer/ (and npm packages).',
};

/** @type {Zone} (e) tests and bench are not targets, so they may import anything. */
const onlyServeImportsTheServer = {
  target: [
    ...['contract', 'runs', 'supervisor', 'corpus', 'panel', 'assets', 'jobs'].map((d) => src(`${d}/**`)),
    src('*.ts'),
    src('cli/!(serve).ts'),
    at('electron/src/**'),
    at('renderer/**'),
    at('bin/**'),
  ],
  from: src('server/**'),
  message: 'nothing imports worker/src/server/ but cli/serve.ts (what both shells share lives in worker/src/assets/).',
};

/** @type {Zone} (e) */
const onlyTheBinImportsTheCli = {
  target: [
    ...['contract', 'runs', 'supervisor', 'corpus', 'panel', 'server', 'assets', 'jobs'].map((d) => src(`${d}/**`)),
    src('*.ts'),
    at('electron/src/**'),
    at('renderer/**'),
  ],
  from: src('cli/**'),
  message: 'nothing imports worker/src/cli/ but bin/headroom.mjs and cli/ itself.',
};

const ZONES = [
  contractIsALeaf,
  genericNeverImportsAKind,
  onlyEntryPointsImportBuiltin,
  ...jobsStayInTheirFolder,
  rendererSeesOnlyTheContract,
  onlyServeImportsTheServer,
  onlyTheBinImportsTheCli,
];

const LAYERED = ['worker/src/**/*.ts', 'electron/src/**/*.ts', 'renderer/**/*.{ts,tsx}', 'bin/**/*.mjs'];

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.headroom/', 'dist/', 'out/', 'release/', 'python-runtime/', 'bench/out/', 'renderer/dist/', 'e2e/test-results/', 'e2e/screenshots/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The Engine is one library with no Electron in it (DESIGN.md: processes).
    files: ['worker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron', '**/electron/**'], message: 'worker/ never imports electron/' }] }],
    },
  },
  {
    // The renderer runs in a browser (or a sandboxed Electron page): DOM globals, no Node (its tests run in Node).
    files: ['renderer/**/*.{ts,tsx}', 'bench/panel/**/*.{ts,tsx}'],
    ignores: ['renderer/test/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'electron'], message: 'the renderer has no Node and no Electron: use the HeadroomApi' }] }],
    },
  },
  {
    // The layering. TypeScript's NodeNext imports name `.js` for a `.ts` file; the renderer names `.ts`.
    files: LAYERED,
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'], extensionAlias: { '.js': ['.ts', '.tsx', '.js'] } })],
    },
    rules: {
      'import-x/no-unresolved': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: ZONES }],
    },
  },
  {
    // (a) Node's builtins resolve to no file, so the zone cannot see them: this rule does.
    // exportSchema.ts is the tool that writes the JSON Schema file, not part of the contract.
    files: ['worker/src/contract/**/*.ts'],
    ignores: ['worker/src/contract/exportSchema.ts'],
    rules: { 'import-x/no-nodejs-modules': 'error' },
  },
);
