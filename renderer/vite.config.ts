import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer is served by `headroom serve` and loaded by Electron from files: relative paths.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
