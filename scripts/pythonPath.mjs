// The Python that runs Headroom's worker: $HEADROOM_PYTHON, else .venv/bin/python.
// Plain JavaScript with Node built-ins only: set-up runs it before node_modules exists.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const venvDir = join(repoRoot, '.venv');

export function workerPython() {
  return process.env.HEADROOM_PYTHON || join(venvDir, 'bin', 'python');
}
