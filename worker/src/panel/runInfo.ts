/**
 * What the panel lists of each run, any kind: read from the run folder when a run
 * is first seen and whenever a session starts or ends, and folded forward from the
 * run's own events in between (the job's onEvent), so a chunk event costs no disk
 * reads: no manifest, no journal replay, no folder walk.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunInfo } from '../contract/runs.js';
import { asHeadroomError } from '../errors.js';
import type { JobEvent, StatusBase } from '../jobs/job.js';
import { findJob, showKind } from '../jobs/registry.js';
import { readRunHeader, type RunHeader } from '../runs/manifest.js';

export function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    try {
      const stat = lstatSync(join(dir, name)); // a symlink inside counts as itself, never as what it points to
      if (stat.isFile()) total += stat.size;
    } catch {
      /* removed while we looked */
    }
  }
  return total;
}

/** A run this Headroom cannot read: an unknown kind (a newer version made it) or a damaged run.json. Listed as such, never dropped. */
export function unreadable(runId: string, dir: string | null, header: RunHeader | undefined, why: string): RunInfo {
  return {
    runId,
    kind: header?.kind ?? 'unknown',
    known: false,
    status: 'unknown',
    unitsDone: 0,
    unitsTotal: 0,
    unit: 'units',
    device: null,
    createdAt: header?.createdAt ?? '',
    diskBytes: dir === null ? 0 : folderBytes(dir),
    errors: [why],
    name: header?.name ?? null,
    phase: 'cannot be shown: this Headroom cannot read it',
    progressLine: '',
    elapsedMs: 0,
    sessionStartedAt: null,
    etaMs: null,
    failure: null,
  };
}

/** The words of a kind that does not word its runs itself (jobs/embed/words.ts words embed runs). */
function genericWords(status: StatusBase, unit: string): Pick<RunInfo, 'phase' | 'progressLine' | 'elapsedMs' | 'sessionStartedAt' | 'etaMs' | 'failure'> {
  const lastError = status.errors.at(-1);
  const phase =
    status.status === 'failed' ? `failed: ${lastError ?? 'no reason given'}`
    : status.status === 'interrupted' ? `interrupted: ${status.lastInterruption ?? 'the app exited'}`
    : status.status === 'created' ? 'not started yet'
    : status.status;
  return {
    phase: status.phase ?? phase,
    progressLine: status.progressLine ?? `${status.unitsDone}/${status.unitsTotal} ${unit}`,
    elapsedMs: status.elapsedMs ?? 0,
    sessionStartedAt: status.sessionStartedAt ?? null,
    etaMs: status.etaMs ?? null,
    failure: status.failure ?? (status.status === 'failed' ? { why: lastError ?? 'no reason given', fix: 'fix the cause, then resume the run' } : null),
  };
}

/** The RunInfo of one run folder, from disk. */
export function readRunInfo(runId: string, dir: string): RunInfo {
  let header: RunHeader | undefined;
  try {
    header = readRunHeader(dir);
    const job = findJob(header.kind);
    if (!job) return unreadable(runId, dir, header, `unknown kind ${showKind(header.kind)}: this Headroom cannot run or show it (a newer Headroom made it?)`);
    const status = job.status(dir);
    return {
      runId,
      kind: header.kind,
      known: true,
      status: status.status,
      unitsDone: status.unitsDone,
      unitsTotal: status.unitsTotal,
      unit: job.unit,
      device: status.device,
      createdAt: header.createdAt,
      diskBytes: folderBytes(dir),
      errors: status.errors,
      name: header.name ?? null,
      ...genericWords(status, job.unit),
      ...job.infoFields(status),
    };
  } catch (error) {
    return unreadable(runId, dir, header, asHeadroomError(error).message);
  }
}

export class RunInfoCache {
  private readonly infos = new Map<string, RunInfo>();

  constructor(private readonly dirOf: (runId: string) => string) {}

  /** Reads the run from disk again and keeps what it found; an id that names no run folder is refused (dirOf throws). */
  refresh(runId: string): RunInfo {
    const info = readRunInfo(runId, this.dirOf(runId));
    this.infos.set(runId, info);
    return info;
  }

  get(runId: string): RunInfo {
    return this.infos.get(runId) ?? this.refresh(runId);
  }

  forget(runId: string): void {
    this.infos.delete(runId);
  }

  /** Folds one of the run's events in; the new info, or undefined when nothing listed changed. */
  apply(runId: string, event: JobEvent): RunInfo | undefined {
    const info = this.get(runId);
    const next = findJob(info.kind)?.onEvent(info, event);
    if (next) this.infos.set(runId, next);
    return next;
  }
}
