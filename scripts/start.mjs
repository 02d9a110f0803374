// `npm start`: the Electron app where its binary is present and there is a display,
// otherwise the web panel (`headroom serve`), which prints its URL. Builds the UI
// the first time. The New run form starts filled in with the demo corpus.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './pythonPath.mjs';

const say = (text) => process.stderr.write(`start: ${text}\n`);

function electronBinary() {
  try {
    const path = createRequire(import.meta.url)('electron'); // the binary's path, or throws when it was not downloaded
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
if (!existsSync(join(repoRoot, 'renderer', 'dist', 'index.html')) || !existsSync(join(repoRoot, 'out', 'electron', 'main.mjs'))) {
  say('building the panel (first run)');
  const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: repoRoot });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const electron = electronBinary();
const [command, args] =
  electron && hasDisplay
    ? [electron, [join(repoRoot, 'out', 'electron', 'main.mjs')]]
    : [process.execPath, [join(repoRoot, 'bin', 'headroom.mjs'), 'serve', ...process.argv.slice(2)]];
if (command === process.execPath) say(electron ? 'no display: serving the web panel instead' : 'Electron binary not installed: serving the web panel instead');
const result = spawnSync(command, args, { stdio: 'inherit', cwd: repoRoot });
process.exit(result.status ?? 0);
