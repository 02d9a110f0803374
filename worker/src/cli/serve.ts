/** `headroom serve`: the panel in a browser until Ctrl-C; runs and their runtimes stop with it. */
import { join } from 'node:path';
import { REPO_ROOT } from '../runtimePaths.js';
import { serve } from '../server/server.js';
import { RunManager } from '../panel/runManager.js';
import { builtinFormDefaults, registerBuiltinJobs } from '../jobs/builtin.js';

export const RENDERER_DIST = join(REPO_ROOT, 'renderer', 'dist');

export async function servePanel(
  options: { host: string; port: number; runsDir: string; allowRemote: boolean },
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<void> {
  registerBuiltinJobs();
  const manager = new RunManager({ runsDir: options.runsDir, formDefaults: builtinFormDefaults() });
  let server;
  try {
    server = await serve({ ...options, manager, staticDir: RENDERER_DIST });
  } catch (error) {
    await manager.close();
    throw error;
  }
  io.stderr.write(`Headroom panel (runs in ${manager.runsDir}); open:\n`);
  io.stdout.write(`${server.url}\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  io.stderr.write('stopping: runs are interrupted and resumable\n');
  await server.close();
  await manager.close();
}
