/** The kinds of job this Headroom runs, by name. jobs/builtin.ts registers the built-in ones; tests may add their own. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HeadroomError } from '../errors.js';
import type { AnyJob } from './job.js';

const kinds = new Map<string, AnyJob>();

/** A kind as messages show it: quoted, control characters escaped, cut short (a run.json can hold anything). */
export function showKind(kind: string): string {
  return JSON.stringify(kind.length > 40 ? `${kind.slice(0, 40)}...` : kind);
}

export function registerJob(job: AnyJob): void {
  const existing = kinds.get(job.kind);
  if (existing && existing !== job) throw new HeadroomError('usage', `two jobs claim the kind ${showKind(job.kind)}`);
  kinds.set(job.kind, job);
}

/** The job of a kind, or undefined when this Headroom does not know it (a newer version's run). */
export function findJob(kind: string): AnyJob | undefined {
  return kinds.get(kind);
}

export function jobFor(kind: string, runDir?: string): AnyJob {
  const job = kinds.get(kind);
  if (!job) {
    const known = [...kinds.keys()].join(', ') || 'none';
    throw new HeadroomError('usage', `${runDir ? `${runDir} is a run of` : 'there is no job of'} unknown kind ${showKind(kind)} (this Headroom runs: ${known}): a newer Headroom made it, or its run.json was edited`);
  }
  return job;
}

export function registeredJobs(): AnyJob[] {
  return [...kinds.values()];
}

/** What a module's `job` must have to be registered (the rest of Job is optional). */
const JOB_MEMBERS = ['kind', 'unit', 'format', 'request', 'records', 'settings', 'create', 'execute', 'status', 'infoFields', 'onEvent', 'statusLines', 'reporter'] as const;

/** The env var naming extra job modules (paths, comma-separated), each exporting `job`: a kind without editing Headroom. */
export const JOBS_ENV = 'HEADROOM_JOBS';

/** Imports and registers the job modules $HEADROOM_JOBS names; a module that does not load or export a job is a usage error. */
export async function loadJobModules(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const path of (env[JOBS_ENV] ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    let module: { job?: unknown };
    try {
      module = (await import(pathToFileURL(resolve(path)).href)) as { job?: unknown };
    } catch (error) {
      throw new HeadroomError('usage', `${JOBS_ENV}: cannot load ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    const job = module.job as Partial<AnyJob> | undefined;
    if (job === undefined) throw new HeadroomError('usage', `${JOBS_ENV}: ${path} exports no \`job\` (a Job: see worker/src/jobs/job.ts)`);
    const missing = JOB_MEMBERS.filter((member) => typeof job?.[member] !== (member === 'kind' || member === 'unit' ? 'string' : member === 'format' ? 'number' : member === 'request' || member === 'settings' || member === 'records' ? 'object' : 'function'));
    if (missing.length > 0) throw new HeadroomError('usage', `${JOBS_ENV}: the \`job\` of ${path} is not a Job (missing or wrong: ${missing.join(', ')}; see worker/src/jobs/job.ts)`);
    registerJob(job as AnyJob);
  }
}
