/**
 * Whether a done run's outputs are still the ones its run_completed record
 * describes: embeddings.npy by size and sha256, ids.txt by sha256 (and its line
 * count, to say what is wrong). A run whose outputs do not match is not done.
 */
import { readFileSync, statSync } from 'node:fs';
import { runPaths } from '../manifest.js';
import type { JournalRecord } from '../records.js';
import { fileSha256 } from './chunkCheck.js';
import { npyMatrixHeader } from './npy.js';

type Completed = Extract<JournalRecord, { type: 'run_completed' }>;

export interface OutputProblem {
  file: 'embeddings.npy' | 'ids.txt';
  reason: string;
}

/**
 * Hashes already taken in this process, by what any write changes (ctime cannot
 * be set back), so the panel listing runs does not re-read large outputs.
 */
const hashes = new Map<string, { stamp: string; sha256: string | undefined }>();

function stampOf(path: string): { stamp: string; size: number; regular: boolean } | undefined {
  try {
    const stat = statSync(path, { bigint: true });
    return { stamp: `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`, size: Number(stat.size), regular: stat.isFile() };
  } catch {
    return undefined;
  }
}

function hashOf(path: string, stamp: string): string | undefined {
  const known = hashes.get(path);
  if (known?.stamp === stamp) return known.sha256;
  const sha256 = fileSha256(path);
  hashes.set(path, { stamp, sha256 });
  return sha256;
}

/** Only to word the message; the sha256 already decided. */
function countLines(path: string): number {
  try {
    let lines = 0;
    for (const byte of readFileSync(path)) if (byte === 0x0a) lines += 1;
    return lines;
  } catch {
    return 0;
  }
}

function checkEmbeddings(path: string, completed: Completed): string | undefined {
  const found = stampOf(path);
  if (!found) return 'missing';
  if (!found.regular) return 'not a regular file';
  const expected = npyMatrixHeader(completed.rows, completed.dim).length + completed.rows * completed.dim * 4;
  if (found.size !== expected) return `${found.size} bytes, the journal says ${expected} (${completed.rows} x ${completed.dim})`;
  if (hashOf(path, found.stamp) !== completed.sha256) return 'its content differs from the journal (sha256)';
  return undefined;
}

function checkIds(path: string, completed: Completed): string | undefined {
  const found = stampOf(path);
  if (!found) return 'missing';
  if (!found.regular) return 'not a regular file';
  if (hashOf(path, found.stamp) === completed.ids.sha256) return undefined;
  const lines = countLines(path);
  return lines === completed.ids.rows ? 'its content differs from the journal (sha256)' : `${lines} lines, the journal says ${completed.ids.rows}`;
}

/** The outputs that do not match the journal; empty when the run's outputs are intact. */
export function checkOutputs(runDir: string, completed: Completed): OutputProblem[] {
  const paths = runPaths(runDir);
  const problems: OutputProblem[] = [];
  const embeddings = checkEmbeddings(paths.embeddings, completed);
  if (embeddings) problems.push({ file: 'embeddings.npy', reason: embeddings });
  const ids = checkIds(paths.ids, completed);
  if (ids) problems.push({ file: 'ids.txt', reason: ids });
  return problems;
}

export const describeProblems = (problems: readonly OutputProblem[]): string => problems.map((problem) => `${problem.file}: ${problem.reason}`).join('; ');
