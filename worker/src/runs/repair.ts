/**
 * `headroom repair DIR`: a journal with damaged lines is refused (exit 2, naming
 * the line) until this explicit step moves those lines aside, into
 * journal.jsonl.damaged next to the journal, keeping every valid record as it was
 * written. Nothing is guessed: a chunk whose chunk_done line was damaged has no
 * valid record naming it, so the next resume recomputes it.
 */
import { closeSync, existsSync, fsyncSync, openSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HeadroomError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from './atomicFile.js';
import { checkWritable } from './debris.js';
import { scanJournal, type BaseRecord, type RecordSchema } from './journal.js';
import { acquireLock } from './lock.js';
import { runFiles } from './manifest.js';

export interface RepairReport {
  journal: string;
  /** Where the damaged lines went (appended to, so repeated repairs keep them all). */
  aside: string;
  moved: { line: number; reason: string }[];
  kept: number;
}

/** `records`: the run's kind's journal schema (a line it does not accept is damaged). */
export function repairJournal(runDirArg: string, records: RecordSchema<BaseRecord>): RepairReport {
  const runDir = resolve(runDirArg);
  const paths = runFiles(runDir);
  if (!existsSync(paths.journal)) throw new HeadroomError('usage', `${runDir} has no journal.jsonl: nothing to repair`);
  checkWritable(runDir);
  const lock = acquireLock(paths.lock, runDir);
  try {
    const scan = scanJournal(paths.journal, records);
    const kept = scan.lines.flatMap((entry) => ('record' in entry ? [entry.text] : []));
    const moved = scan.lines.flatMap((entry) => ('record' in entry ? [] : [entry]));
    if (scan.torn !== '') moved.push({ line: scan.lines.length + 1, text: scan.torn, reason: 'torn last line (no newline)' });
    const aside = `${paths.journal}.damaged`;
    if (moved.length > 0) {
      // Aside first, then the journal: a crash in between leaves a line in both files, never in neither.
      const fd = openSync(aside, 'a');
      try {
        writeFileSync(fd, moved.map((entry) => `${entry.text}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      fsyncDir(runDir);
      writeFileAtomic(paths.journal, kept.map((text) => `${text}\n`).join(''));
    }
    return { journal: paths.journal, aside, moved: moved.map(({ line, reason }) => ({ line, reason })), kept: kept.length };
  } finally {
    lock.release();
  }
}
