// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    // The renderer runs in a browser (or a sandboxed Electron page): DOM globals, no Node.
    files: ['renderer/**/*.{ts,tsx}', 'bench/panel/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'electron'], message: 'the renderer has no Node and no Electron: use the HeadroomApi' }] }],
    },
  },
);
