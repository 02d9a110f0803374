/**
 * The panel's two trials calls: a data file's columns for the New sweep form
 * (the runtime's inspect_data, one short runtime per call), and a sweep's
 * finished trials for its table (trials.jsonl; a damaged line is skipped and
 * named, never a failed call).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { ApiError, type DataInspection } from '../../contract/api.js';
import type { TrialsTable } from '../../contract/jobs/trials.js';
import { TrialResult } from '../../contract/trialsProtocol.js';
import { asHeadroomError } from '../../errors.js';
import type { RuntimeOptions } from '../job.js';
import { askRuntime } from './askRuntime.js';
import { runPaths } from './manifest.js';

export async function inspectData(path: string, runtime: RuntimeOptions): Promise<DataInspection> {
  try {
    const { type, ...inspection } = await askRuntime({ type: 'inspect_data', path }, 'data_inspected', runtime);
    void type;
    return inspection;
  } catch (error) {
    const failure = asHeadroomError(error);
    throw new ApiError(failure.kind === 'bad_input' || failure.kind === 'usage' ? 'bad_input' : 'internal', failure.message);
  }
}

/** Far above any real trials.jsonl (a line per trial, a few hundred bytes each). */
const MAX_BYTES = 256 * 1024 * 1024;

/** trials.jsonl's text, or '' when the sweep has none yet; a regular file only (no link followed, no FIFO waited on). */
function readTrialsText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ApiError('bad_input', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ApiError('bad_input', `${path} is not a regular file; resuming the run rewrites it from the journal`);
    if (stat.size > MAX_BYTES) throw new ApiError('bad_input', `${path} is ${stat.size} bytes, far more than a sweep writes; resuming the run rewrites it from the journal`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Every trial trials.jsonl holds, in order; lines that are not a trial are skipped and named (their line number and why). */
export function parseTrialsFile(text: string): { trials: TrialResult[]; skipped: { line: number; reason: string }[] } {
  const trials: TrialResult[] = [];
  const skipped: { line: number; reason: string }[] = [];
  const lines = text.split('\n');
  const torn = lines.pop() ?? '';
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped.push({ line: i + 1, reason: 'not valid JSON' });
      return;
    }
    const parsed = TrialResult.safeParse(value);
    if (parsed.success) trials.push(parsed.data);
    else skipped.push({ line: i + 1, reason: `not a trial (${parsed.error.issues[0]?.path.join('.') || 'record'}: ${parsed.error.issues[0]?.message ?? 'unknown shape'})` });
  });
  if (torn.trim() !== '') skipped.push({ line: lines.length + 1, reason: 'an unfinished last line (being written, or cut by a crash)' });
  return { trials, skipped };
}

export function runTrials(runId: string, runDir: string): TrialsTable {
  const path = runPaths(runDir).trials;
  const { trials, skipped } = parseTrialsFile(readTrialsText(path));
  if (skipped.length > 0) {
    process.stderr.write(`headroom: ${path}: skipped ${skipped.map((entry) => `line ${entry.line} (${entry.reason})`).join(', ')}\n`);
  }
  return { runId, trials, skipped };
}
