/**
 * What an embed run is checked for before its folder is created: the input reads
 * (a regular file, every line parses, the text field in every record, the id field
 * chosen in the first records) and every model resolves, offline, the way the
 * runtime resolves it. A refusal names each field that is wrong, twice: in the New
 * run form's words (its message, which the panel shows) and in the CLI's flags
 * (`forCli`, which `headroom embed` prints).
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { EMBED_REQUEST_DEFAULTS, embedFormLabel } from '../../contract/jobs/embed.js';
import { previewCorpus } from '../../corpus/preview.js';
import { CorpusFieldError, readCorpus, type CorpusRead } from '../../corpus/readCorpus.js';
import { HeadroomError } from '../../errors.js';
import { maskedFields, redact } from '../../redact.js';
import { DEFAULT_MODEL } from './defaults.js';
import type { EmbedSpec, ModelEntry, ModelIdentity } from './manifest.js';
import { identifyModels, type RuntimeOptions } from './modelIdentity.js';
import { looksLikePath } from './modelKey.js';
import { deviceConflict, parseWorkers } from './workerPlan.js';

/** One field that is wrong: its request path (textField, models.0.model), the form's words and the CLI's. */
export interface FieldProblem {
  field: string;
  form: string;
  cli: string;
}

export class RequestFieldError extends HeadroomError {
  constructor(readonly problems: readonly FieldProblem[]) {
    super('bad_input', problems.map((problem) => problem.form).join('\n'));
  }

  /** The same refusal in the CLI's words (flags, not form fields). */
  forCli(): HeadroomError {
    return new HeadroomError('bad_input', this.problems.map((problem) => problem.cli).join('\n'));
  }
}

const problem = (field: string, form: string, cli: string): FieldProblem => ({ field, form: `${embedFormLabel(field)}: ${form}`, cli });

const isBadInput = (error: unknown): error is HeadroomError => error instanceof HeadroomError && error.kind === 'bad_input';

/** The fields of the first records, to say which exist; empty when the head cannot be read. */
async function firstFields(file: string): Promise<{ fields: string[]; records: number }> {
  try {
    const preview = await previewCorpus(file);
    return { fields: preview.fields, records: preview.records.length };
  } catch {
    return { fields: [], records: 0 };
  }
}

const listed = (fields: string[]): string => (fields.length > 0 ? ` (fields: ${fields.join(', ')})` : '');

/** Reads the whole input once (checked, counted and hashed; no texts kept), then the id field chosen in its first records. */
async function checkInput(file: string, spec: EmbedSpec): Promise<CorpusRead> {
  let corpus: CorpusRead;
  try {
    corpus = await readCorpus(file, spec, { keepTexts: false });
  } catch (error) {
    if (error instanceof CorpusFieldError) {
      const { fields } = await firstFields(file);
      throw new RequestFieldError([problem(error.field, `${basename(file)} ${error.where} ${error.detail}${listed(fields)}`, error.message)]);
    }
    if (isBadInput(error)) throw new RequestFieldError([problem('input', error.message, error.message)]);
    throw error;
  }
  // An absent id field numbers documents by line; that is what the default means, but a field the user named and no record has is a typo.
  if (spec.idField !== EMBED_REQUEST_DEFAULTS.idField && !file.toLowerCase().endsWith('.txt')) {
    const { fields, records } = await firstFields(file);
    if (records > 0 && !fields.includes(spec.idField)) {
      const where = `none of the first ${records} records of ${basename(file)} has a field "${spec.idField}"`;
      throw new RequestFieldError([problem('idField', `${where}${listed(fields)}`, `--id-field: ${where}${listed(fields)}; leave --id-field out to number documents by line`)]);
    }
  }
  return corpus;
}

/** Edit distance, for "did you mean" (model names are short). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

const suggestion = (model: string): string => {
  const near = [DEFAULT_MODEL, basename(DEFAULT_MODEL)].find((known) => known !== model && distance(model.toLowerCase(), known.toLowerCase()) <= 3);
  return near ? `; did you mean ${near}?` : '';
};

/**
 * Every model resolves and is fingerprinted by the runtime's own code (offline,
 * no torch import: one short process for all). Only when that fails are the
 * models asked one by one, to name each that does not resolve.
 */
async function checkModels(models: readonly ModelEntry[], runtime: RuntimeOptions): Promise<ModelIdentity[]> {
  const folders = models.flatMap((entry, i) =>
    looksLikePath(entry.model) && !existsSync(entry.model) ? [problem(`models.${i}.model`, `model folder ${entry.model} does not exist`, `model folder ${entry.model} does not exist`)] : [],
  );
  if (folders.length > 0) throw new RequestFieldError(folders);
  try {
    return await identifyModels(models, runtime);
  } catch (error) {
    if (!isBadInput(error)) throw error;
    const each = models.length === 1 ? [error] : await Promise.all(models.map((entry) => identifyModels([entry], runtime).then(() => undefined, (failure: unknown) => failure)));
    const problems = each.flatMap((failure, i) => (isBadInput(failure) ? [problem(`models.${i}.model`, `${failure.message}${suggestion(models[i]!.model)}`, `${failure.message}${suggestion(models[i]!.model)}`)] : []));
    throw problems.length > 0 ? new RequestFieldError(problems) : error;
  }
}

function checkName(name: string | undefined): void {
  if (name === undefined || maskedFields({ name }).length === 0) return;
  const why = `"${redact(name)}" holds what looks like a secret (a token, or a user and password in a URL); run.json is stored with secrets masked: choose another name`;
  throw new RequestFieldError([problem('name', why, `--name ${why}`)]);
}

/** The workers' devices are on this machine and agree with the models' own (the panel's request is checked here; the CLI's flags first, by cli.ts). */
function checkWorkers(spec: EmbedSpec): void {
  if (spec.workers === null) return;
  const why = (() => {
    try {
      parseWorkers(spec.workers.join(','));
    } catch (error) {
      if (error instanceof HeadroomError) return error.message.replace(/^--workers: /, '');
      throw error;
    }
    return deviceConflict(spec.models, spec.workers);
  })();
  if (why !== undefined) throw new RequestFieldError([problem('workers', why, why.startsWith('--') ? why : `--workers: ${why}`)]);
}

/** Checks the name, the input and every model (the input and the models at once); throws a RequestFieldError naming every field that is wrong. */
export async function checkEmbedRequest(file: string, spec: EmbedSpec, name: string | undefined, runtime: RuntimeOptions): Promise<{ corpus: CorpusRead; models: ModelIdentity[] }> {
  checkName(name);
  checkWorkers(spec);
  const [input, models] = await Promise.allSettled([checkInput(file, spec), checkModels(spec.models, runtime)]);
  const refused = [input, models].flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  const other = refused.find((reason) => !(reason instanceof RequestFieldError));
  if (other !== undefined) throw other;
  if (refused.length > 0) throw new RequestFieldError(refused.flatMap((reason) => (reason as RequestFieldError).problems));
  return { corpus: (input as PromiseFulfilledResult<CorpusRead>).value, models: (models as PromiseFulfilledResult<ModelIdentity[]>).value };
}
