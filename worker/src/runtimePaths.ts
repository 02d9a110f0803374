/** Which Python runs the runtime: $HEADROOM_PYTHON, else the repo's .venv. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HeadroomError } from './errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The headroom_runtime package's folder; a packaged app points HEADROOM_RUNTIME_DIR at its resources. */
export const RUNTIME_DIR = process.env.HEADROOM_RUNTIME_DIR ?? fileURLToPath(new URL('../../python-runtime/', import.meta.url));

export function pythonExecutable(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.HEADROOM_PYTHON;
  if (chosen) return chosen;
  const venv = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));
  if (!existsSync(venv)) {
    throw new HeadroomError(
      'usage',
      `no Python runtime at ${venv}: run \`npm run setup\`, or set HEADROOM_PYTHON to a Python with torch and sentence-transformers`,
    );
  }
  return venv;
}
