// Bundles the Electron main process (ESM) and the sandboxed preload (CommonJS, as
// sandboxed preloads must be) into out/electron/. The renderer is built by Vite.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node22', sourcemap: true, external: ['electron'], logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['electron/src/main.ts'],
  format: 'esm',
  outfile: 'out/electron/main.mjs',
  // Bundled CommonJS dependencies (ws, commander...) still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
await build({ ...common, entryPoints: ['electron/src/preload.ts'], format: 'cjs', outfile: 'out/electron/preload.cjs' });
console.log('built out/electron/main.mjs and out/electron/preload.cjs');
