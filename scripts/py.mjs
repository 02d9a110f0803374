// Runs the worker's Python with the given arguments (for tests and linters).
import { spawnSync } from 'node:child_process';
import { repoRoot, workerPython } from './pythonPath.mjs';

const result = spawnSync(workerPython(), process.argv.slice(2), { stdio: 'inherit', cwd: repoRoot });
if (result.error) {
  console.error(`cannot run ${workerPython()}: ${result.error.message}; run \`npm run setup\``);
  process.exit(1);
}
process.exit(result.status ?? 1);
