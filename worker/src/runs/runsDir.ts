/** Where runs live: --runs-dir, else HEADROOM_RUNS_DIR, else the platform's per-user data folder. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultRunsDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HEADROOM_RUNS_DIR) return env.HEADROOM_RUNS_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Headroom', 'runs');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Headroom', 'runs');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'headroom', 'runs');
}
