/**
 * One owner per run: `lock` holds the pid of the supervisor that writes it.
 * A lock whose pid is dead is taken over; a live one is refused.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { HeadroomError } from '../errors.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockOwner(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Live owner of the run, if any. */
export function liveOwner(lockPath: string): number | undefined {
  const pid = lockOwner(lockPath);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export interface RunLock {
  /** Pid of a dead owner whose lock was taken over, if any. */
  tookOverFrom: number | undefined;
  release(): void;
}

export function acquireLock(lockPath: string, runDir: string): RunLock {
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return {
        tookOverFrom,
        release: () => {
          if (lockOwner(lockPath) === process.pid) unlinkSync(lockPath);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = lockOwner(lockPath);
    if (owner !== undefined && isAlive(owner)) {
      throw new HeadroomError(
        'busy',
        `run ${runDir} is in use by process ${owner}; wait for it to finish or stop it (its lock: ${lockPath})`,
      );
    }
    tookOverFrom = owner;
    try {
      unlinkSync(lockPath);
    } catch {
      /* another taker removed it first; the next wx decides */
    }
  }
  throw new HeadroomError('busy', `run ${runDir}: another process took its lock at the same moment`);
}
