/**
 * The one way from a run id to its folder: every call that takes a run id goes
 * through resolveRunDir, so no id (`..`, a path, a symlink planted in the runs
 * folder) reaches a folder outside the runs folder.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiError, RunId } from '../contract/api.js';

/** An id as it may be shown: quoted, escaped, and short. */
export function showId(runId: unknown): string {
  const shown = JSON.stringify(typeof runId === 'string' ? runId : String(runId));
  return shown.length > 60 ? `${shown.slice(0, 57)}..."` : shown;
}

/** Whether a name in the runs folder can be a run id at all (what listRuns lists). */
export const isRunId = (name: string): boolean => RunId.safeParse(name).success;

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The folder of run `runId`, directly inside `runsDir` (an absolute path), checked
 * by name, by resolved path and by real path. A symlink is refused (`bad_args`)
 * whether it is the run folder or its run.json; a missing run is `not_found`.
 */
export function resolveRunDir(runsDir: string, runId: unknown): string {
  const parsed = RunId.safeParse(runId);
  if (!parsed.success) throw new ApiError('bad_args', `run id ${showId(runId)}: ${parsed.error.issues[0]?.message ?? 'not a run id'}`);
  const id = parsed.data;
  const dir = join(runsDir, id);
  if (dirname(dir) !== runsDir) throw new ApiError('bad_args', `run id ${showId(id)} does not name a folder inside ${runsDir}`);
  const stat = lstatOrUndefined(dir);
  if (!stat) throw new ApiError('not_found', `no run ${showId(id)} in ${runsDir}`);
  if (stat.isSymbolicLink()) {
    let target = '?';
    try {
      target = readlinkSync(dir);
    } catch {
      /* removed meanwhile */
    }
    throw new ApiError('bad_args', `run ${showId(id)} in ${runsDir} is a symbolic link (to ${target}); a run must be a folder inside the runs folder`);
  }
  if (!stat.isDirectory()) throw new ApiError('not_found', `${showId(id)} in ${runsDir} is not a run folder`);
  let real: string;
  let realRuns: string;
  try {
    real = realpathSync(dir);
    realRuns = realpathSync(runsDir);
  } catch {
    throw new ApiError('not_found', `no run ${showId(id)} in ${runsDir}`);
  }
  if (real !== join(realRuns, id)) throw new ApiError('bad_args', `run ${showId(id)} resolves to ${real}, outside the runs folder ${realRuns}`);
  const manifest = lstatOrUndefined(join(dir, 'run.json'));
  if (manifest?.isSymbolicLink()) throw new ApiError('bad_args', `run ${showId(id)}: its run.json is a symbolic link; refused`);
  if (!manifest?.isFile()) throw new ApiError('not_found', `no run ${showId(id)} in ${runsDir} (its folder has no run.json)`);
  return dir;
}
