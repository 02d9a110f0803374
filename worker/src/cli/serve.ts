/** `headroom serve`: the panel in a browser until Ctrl-C; runs and their runtimes stop with it. */
import { join } from 'node:path';
import { REPO_ROOT } from '../runtimePaths.js';
import { ensurePanelBuilt } from '../assets/panelBuild.js';
import { serve } from '../server/server.js';
import { serveToken } from '../server/serveToken.js';
import { RunManager } from '../panel/runManager.js';
import { builtinFormDefaults, registerBuiltinJobs } from '../jobs/builtin.js';

export const RENDERER_DIST = join(REPO_ROOT, 'renderer', 'dist');

export async function servePanel(
  options: { host: string; port: number; runsDir: string; allowRemote: boolean; newToken?: boolean },
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<void> {
  registerBuiltinJobs();
  const log = (line: string): void => void io.stderr.write(`headroom serve: ${line}\n`);
  const manager = new RunManager({ runsDir: options.runsDir, formDefaults: builtinFormDefaults() });
  let server;
  let file: string | null;
  try {
    const kept = serveToken({ port: options.port, newToken: options.newToken ?? false, log });
    file = kept.file;
    server = await serve({ host: options.host, port: options.port, allowRemote: options.allowRemote, manager, staticDir: RENDERER_DIST, token: kept.token });
    // After binding, so a port in use or a refused host is said at once; before the URL is printed.
    ensurePanelBuilt({ repoRoot: REPO_ROOT, distDir: RENDERER_DIST, log });
  } catch (error) {
    await server?.close();
    await manager.close();
    throw error;
  }
  io.stderr.write(`Headroom panel (runs in ${manager.runsDir}); open:\n`);
  io.stdout.write(`${server.url}\n`);
  if (file) io.stderr.write(`(the token is kept in ${file}: this URL works after a restart on port ${server.port}; --new-token replaces it)\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  io.stderr.write('stopping: runs are interrupted and resumable\n');
  await server.close();
  await manager.close();
}
