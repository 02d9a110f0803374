/**
 * What a crash leaves in a run folder, removed the next time the run is opened
 * (under its lock, so no live writer can own it). Only names Headroom itself
 * writes are touched: `<file>.tmp-<pid>` of its own files (run.json,
 * journal.jsonl, history.jsonl, embeddings.npy, ids.txt, and chunk files under chunks/<model>/),
 * and chunks/ of a completed run that does not keep its chunks. The lock and
 * anything else in the folder are left alone.
 */
import { accessSync, constants, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HeadroomError, notWritable } from '../errors.js';

const OWN_TEMPORARY = /^(?:run\.json|journal\.jsonl|history\.jsonl|embeddings\.npy|ids\.txt)\.tmp-\d+$/;
const CHUNK_TEMPORARY = /^chunk-\d{6}\.npy\.tmp-\d+$/;

/** A run is opened to be written: a read-only or foreign folder is named before the lock is tried. */
export function checkWritable(runDir: string): void {
  try {
    accessSync(runDir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') throw notWritable(runDir, code);
    throw new HeadroomError('bad_input', `cannot open the run folder ${runDir} (${code ?? String(error)})`);
  }
}

const isDir = (path: string): boolean => {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** Regular files of `dir` whose names match (a link or folder of that name is not ours). */
const files = (dir: string, pattern: RegExp): string[] => {
  try {
    return readdirSync(dir).filter((name) => pattern.test(name) && lstatSync(join(dir, name)).isFile());
  } catch {
    return [];
  }
};

/** Removes leftovers; returns what was removed, relative to the run folder. */
export function removeDebris(runDir: string, options: { completedWithoutChunks: boolean }): string[] {
  const removed = files(runDir, OWN_TEMPORARY);
  const chunks = join(runDir, 'chunks');
  if (options.completedWithoutChunks && isDir(chunks)) {
    rmSync(chunks, { recursive: true, force: true });
    removed.push('chunks/');
  } else if (isDir(chunks)) {
    for (const model of readdirSync(chunks)) {
      if (isDir(join(chunks, model))) removed.push(...files(join(chunks, model), CHUNK_TEMPORARY).map((name) => join('chunks', model, name)));
    }
  }
  for (const name of removed) if (name !== 'chunks/') rmSync(join(runDir, name), { force: true });
  return removed;
}
