/**
 * run.json, whatever the kind: written once, when the run is created, tagged with
 * its kind (and the kind's run format). This module reads the tag; the kind's job
 * parses the rest with its own schema (see jobs/job.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
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

/** What every run.json says first: which kind made it, in which format of that kind, and when. */
export const RunHeader = z.object({ format: z.number().int().positive(), kind: z.string().min(1), createdAt: z.string() }).loose();
export type RunHeader = z.infer<typeof RunHeader>;

interface ManifestText {
  path: string;
  text: string;
  raw: unknown;
}

function readManifestText(runDir: string): ManifestText {
  const path = runFiles(runDir).manifest;
  if (!existsSync(path)) throw new HeadroomError('usage', `${runDir} is not a Headroom run (no run.json)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
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
  if (typeof raw === 'object' && raw !== null && 'format' in raw && raw.format !== format) {
    throw new HeadroomError('usage', `${runDir} was made by another version of Headroom (run format ${String(raw.format)}, this one reads ${format}): start a new run`);
  }
  return parseWith(manifest, schema);
}

export function writeManifest(runDir: string, manifest: RunHeader): void {
  writeFileAtomic(runFiles(runDir).manifest, `${JSON.stringify(redactDeep(manifest), null, 2)}\n`);
}
