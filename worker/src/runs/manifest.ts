/**
 * run.json, whatever the kind: written once, when the run is created, tagged with
 * its kind (and the kind's run format). This module reads the tag; the kind's job
 * parses the rest with its own schema (see jobs/job.ts).
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunName } from '../contract/runs.js';
import { HeadroomError } from '../errors.js';
import { redactDeep } from '../redact.js';
import { writeFileAtomic } from './atomicFile.js';
import { fieldLine, jsonErrorPlace } from './jsonPlace.js';

/** The files every run folder has. */
export const runFiles = (runDir: string) => ({
  manifest: join(runDir, 'run.json'),
  journal: join(runDir, 'journal.jsonl'),
  lock: join(runDir, 'lock'),
});

/** What every run.json says first: which kind made it, in which format of that kind, when, and the name the user gave it. */
export const RunHeader = z
  .object({
    format: z.number().int().positive(),
    kind: z.string().min(1),
    createdAt: z.string(),
    // Only shown, never used: a damaged name reads as none rather than making the run unreadable.
    name: RunName.optional().catch(undefined),
  })
  .loose();
export type RunHeader = z.infer<typeof RunHeader>;

/** Far above any real run.json (a few KB, models and settings). */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

function fileKind(path: string): string {
  const stat = lstatSync(path);
  if (stat.isFile()) return 'file';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO';
  return 'a device or socket';
}

interface ManifestText {
  path: string;
  text: string;
  raw: unknown;
}

function readManifestText(runDir: string): ManifestText {
  const path = runFiles(runDir).manifest;
  if (!existsSync(path)) throw new HeadroomError('usage', `${runDir} is not a Headroom run (no run.json)`);
  // Only a regular file of sane size: a FIFO or /dev/zero behind the name would block or fill memory for ever.
  const kind = fileKind(path);
  if (kind !== 'file') throw new HeadroomError('bad_input', `${path} is ${kind}, not a file: run.json is written once, as a file, when the run is created`);
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new HeadroomError('bad_input', `${path} is not a regular file`);
      const { size } = stat;
      if (size > MAX_MANIFEST_BYTES) throw new HeadroomError('bad_input', `${path} is ${size} bytes; a run.json is a few KB (at most ${MAX_MANIFEST_BYTES}): restore it or start a new run`);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof HeadroomError) throw error;
    throw new HeadroomError('bad_input', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return { path, text, raw: JSON.parse(text) };
  } catch (error) {
    throw new HeadroomError('bad_input', `${path} is damaged: not valid JSON at ${jsonErrorPlace(text, error)}; run.json is written once, when the run is created: restore it or start a new run`);
  }
}

function parseWith<T>({ path, text, raw }: ManifestText, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const line = fieldLine(text, issue.path);
    throw new HeadroomError('bad_input', `${path}${line ? ` line ${line}` : ''}: field ${issue.path.join('.') || '(top level)'}: ${issue.message}; run.json is not a valid run manifest: restore it or start a new run`);
  }
  return parsed.data;
}

/** The kind tag of a run folder, or why it has none. */
export function readRunHeader(runDir: string): RunHeader {
  return parseWith(readManifestText(runDir), RunHeader);
}

/** The whole manifest of a kind in the format it reads; another format is another Headroom's run. */
export function readKindManifest<T>(runDir: string, schema: z.ZodType<T>, format: number): T {
  const manifest = readManifestText(runDir);
  const { raw } = manifest;
  if (typeof raw === 'object' && raw !== null && 'format' in raw) refuseOtherFormat(runDir, raw.format, format);
  return parseWith(manifest, schema);
}

/** A run of another format of its kind is another Headroom's: read, never written. */
export function refuseOtherFormat(runDir: string, found: unknown, format: number): void {
  if (found !== format) throw new HeadroomError('usage', `${runDir} was made by another version of Headroom (run format ${String(found)}, this one reads ${format}): start a new run`);
}

export function writeManifest(runDir: string, manifest: RunHeader): void {
  writeFileAtomic(runFiles(runDir).manifest, `${JSON.stringify(redactDeep(manifest), null, 2)}\n`);
}
