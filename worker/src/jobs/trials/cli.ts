/** `headroom trials`: flags build a TrialsRequest; its schema holds every default and rule (the help says its defaults). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { TRIALS_REQUEST_DEFAULTS, TrialsRequest, type TrialsRequestParsed } from '../../contract/jobs/trials.js';
import { SearchSpace, TrialsEngineName, TrialsFamily, TrialsSampler, TrialsTask, type FamilySpaces } from '../../contract/trialsProtocol.js';
import { HeadroomError } from '../../errors.js';
import type { CliContext, Job } from '../job.js';

const D = TRIALS_REQUEST_DEFAULTS;

/** A number as typed; the schema says what is wrong with it (NaN reads as "not a number" there). */
const number = (value: string): number => (value.trim() === '' ? Number.NaN : Number(value));
const autoOrNumber = (value: string): number | 'auto' => (value === 'auto' ? 'auto' : number(value));

export interface TrialsFlags {
  data: string;
  target: string;
  out: string;
  task?: string;
  /** A comma list of families, in the order they run ("nn,xgboost"). */
  family?: string;
  trials?: number;
  concurrency?: number | 'auto';
  epochs?: number;
  patience?: number;
  folds?: number;
  valFraction?: number;
  space?: string;
  sampler?: string;
  seed?: number;
  device?: string;
  engine?: string;
  vramLimit?: number;
  targetMemory?: number;
  treeWorkers?: number | 'auto';
  name?: string;
  json: boolean;
  verbose: boolean;
}

const FLAG_OF: Record<string, string> = {
  vramLimitGiB: '--vram-limit',
  spaceSource: '--space',
  valFraction: '--val-fraction',
  targetMemory: '--target-memory',
  families: '--family',
  treeWorkers: '--tree-workers',
};
const flagOf = (field: string): string => FLAG_OF[field] ?? `--${field}`;

const KNOWN_FAMILIES = TrialsFamily.options.join(', ');

/** --family's comma list, in the order given: an unknown family or one named twice is refused, naming it. */
export function parseFamilies(list: string): TrialsFamily[] {
  const names = list.split(',').map((name) => name.trim());
  const families: TrialsFamily[] = [];
  for (const name of names) {
    const family = TrialsFamily.safeParse(name.toLowerCase());
    if (name === '' || !family.success) {
      throw new HeadroomError('usage', `--family: ${name === '' ? 'an empty name in the list' : `unknown family '${name}'`}; the known families are ${KNOWN_FAMILIES} (several at once: --family nn,xgboost)`);
    }
    if (families.includes(family.data)) throw new HeadroomError('usage', `--family: ${family.data} is named twice; name each family once`);
    families.push(family.data);
  }
  return families;
}

const SPACE_EXAMPLE = '{"lr": {"name": "FloatDistribution", "attributes": {"low": 0.0001, "high": 0.01, "log": true}}}';

/** One family's space as the file holds it: Optuna distributions by parameter name (the keys are the runtime's to check). */
function parseOneSpace(raw: unknown, path: string, prefix: string[]): SearchSpace {
  const parsed = SearchSpace.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = [...prefix, ...issue.path.map(String)];
    throw new HeadroomError('bad_input', `space file ${path}${at.length > 0 ? ` at ${at.join('.')}` : ''}: ${issue.message}; a space maps each parameter to an Optuna distribution, e.g. ${SPACE_EXAMPLE}`);
  }
  // A key the parse drops (JSON's own "__proto__") would be ignored silently: it is an unknown key like any other.
  const dropped = Object.keys(raw as object).find((key) => !Object.hasOwn(parsed.data, key));
  if (dropped !== undefined) {
    throw new HeadroomError('bad_input', `${path}: unknown key '${[...prefix, dropped].join('.')}'; a space's keys are parameters of its family's space`);
  }
  return parsed.data;
}

/**
 * A space file, read and parsed here (its path travels as spaceSource, for the runtime's messages).
 * Keyed by family ({"nn": {...}, "xgboost": {...}}), each key a family of this sweep; or, when the
 * sweep has one family, that family's space alone (flat), keyed here by it. The runtime checks the
 * parameters (trials_check names the family and the key).
 */
export function readSpaceFile(file: string, families: readonly TrialsFamily[] = ['nn']): { space: FamilySpaces; spaceSource: string } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new HeadroomError('bad_input', `space file ${path} ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? String(error)})`}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HeadroomError('bad_input', `space file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HeadroomError('bad_input', `space file ${path}: not a JSON object; a space maps each parameter to an Optuna distribution, e.g. ${SPACE_EXAMPLE} (several families: keyed by family, {"nn": {...}, "xgboost": {...}})`);
  }
  const keys = Object.keys(raw);
  const isFamily = (key: string): boolean => TrialsFamily.safeParse(key).success;
  if (!keys.some(isFamily)) {
    if (families.length !== 1) {
      throw new HeadroomError(
        'bad_input',
        `space file ${path} holds one space, and this sweep searches ${families.length} families (${families.join(', ')}): key it by family, {${families.map((family) => `"${family}": {...}`).join(', ')}}`,
      );
    }
    return { space: { [families[0]!]: parseOneSpace(raw, path, []) }, spaceSource: path };
  }
  const space: FamilySpaces = {};
  for (const key of keys) {
    if (!isFamily(key)) throw new HeadroomError('bad_input', `space file ${path}: '${key}' is not a family; a space file keyed by family has only ${families.join(', ')} as keys (the known families are ${KNOWN_FAMILIES})`);
    const family = key as TrialsFamily;
    if (!families.includes(family)) {
      throw new HeadroomError('bad_input', `space file ${path}: '${family}' is not a family of this sweep (${families.join(', ')}); add it to --family or leave its space out`);
    }
    space[family] = parseOneSpace((raw as Record<string, unknown>)[key], path, [family]);
  }
  return { space, spaceSource: path };
}

/** An issue's words; of `auto` or a number (a union), the number's (not zod's "Invalid input"). */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_union') return issue.message;
  const branch = issue.errors.find((issues) => issues.length > 0 && issues[0]!.code !== 'invalid_value');
  return branch ? issueMessage(branch[0]!) : issue.message;
}

/** The flags as a request: what is not given stays undefined, so the schema's default applies. */
export function requestFromFlags(flags: TrialsFlags): TrialsRequestParsed {
  if (flags.folds !== undefined && flags.valFraction !== undefined) {
    throw new HeadroomError('usage', '--folds and --val-fraction exclude each other: K folds hold out every row once, --val-fraction holds out one part; give one');
  }
  const families = flags.family === undefined ? undefined : parseFamilies(flags.family);
  const space = flags.space === undefined ? {} : readSpaceFile(flags.space, families ?? D.families);
  const parsed = TrialsRequest.safeParse({
    data: resolve(flags.data),
    target: flags.target.toLowerCase().endsWith('.npy') ? resolve(flags.target) : flags.target,
    task: flags.task,
    families,
    trials: flags.trials,
    concurrency: flags.concurrency,
    epochs: flags.epochs,
    patience: flags.patience,
    folds: flags.folds,
    valFraction: flags.valFraction,
    ...space,
    sampler: flags.sampler,
    seed: flags.seed,
    device: flags.device,
    engine: flags.engine,
    vramLimitGiB: flags.vramLimit,
    targetMemory: flags.targetMemory,
    treeWorkers: flags.treeWorkers,
    name: flags.name,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HeadroomError('usage', `${flagOf(String(issue.path[0] ?? 'data'))}: ${issueMessage(issue)}`);
  }
  return parsed.data;
}

export function addTrialsCommands(program: Command, cli: CliContext, job: Pick<Job<TrialsRequestParsed>, 'create'>): void {
  program
    .command('trials')
    .description(
      'sweep hyperparameters on a table, driven by Optuna: small MLPs (many trials trained at once) and tree models (XGBoost, LightGBM, CatBoost in parallel worker processes), one study per family, compared side by side; results in DIR/trials.jsonl and DIR/study.db',
    )
    .requiredOption('--data <file>', 'features: X.npy, table.csv or table.parquet')
    .requiredOption('--target <y.npy|column>', 'the target: a .npy of one value per row, or a column of the table (left out of the features)')
    .requiredOption('--out <dir>', 'run folder to create')
    .addOption(new Option('--task <task>', `auto: binary when the target holds exactly 0 and 1, else regression (default ${D.task})`).choices(['auto', ...TrialsTask.options]))
    .option('--family <list>', `model families to compare, comma-separated, run in this order: ${KNOWN_FAMILIES} (default ${D.families.join(',')})`)
    .option('--trials <n>', `trials to finish per family (default ${D.trials})`, number)
    .option('--concurrency <auto|n>', `members trained at once (a trial with K folds is K members); auto: from the memory estimate (default ${D.concurrency})`, autoOrNumber)
    .option('--epochs <n>', `most epochs per trial (default ${D.epochs})`, number)
    .option('--patience <n>', `epochs without a better validation loss before a trial stops; 0: never early (default ${D.patience})`, number)
    .option('--folds <k>', 'K-fold cross-validation instead of one held-out part (a trial trains K members)', number)
    .option('--val-fraction <f>', `the held-out part without --folds (default ${D.valFraction})`, number)
    .option(
      '--space <file>',
      'search spaces as JSON, keyed by family ({"nn": {...}, "xgboost": {...}}; one family alone may be flat): each parameter an Optuna distribution by name, over the family\'s default space (default: the defaults)',
    )
    .addOption(new Option('--sampler <sampler>', `Optuna sampler, seeded with --seed (default ${D.sampler})`).choices(TrialsSampler.options))
    .option('--seed <n>', `the run's seed: sampler and every trial's initial weights (default ${D.seed})`, number)
    .option('--device <device>', `auto (a GPU with room, else cpu), cpu, cuda or cuda:N (default ${D.device})`)
    .addOption(new Option('--engine <engine>', `auto: batched on a GPU, the fastest on a CPU (default ${D.engine})`).choices(['auto', ...TrialsEngineName.options]))
    .option('--vram-limit <gib>', "cap the runtime's GPU memory in GiB (rehearse a smaller card)", number)
    .option('--target-memory <fraction>', `share of the device (or the cap) the concurrency fills (default ${D.targetMemory})`, number)
    .option(
      '--tree-workers <auto|n>',
      `tree worker processes per GPU (on a CPU: processes, the cores split between them); auto: from the first trial's measured peak on a GPU, up to 4 on a CPU (default ${D.treeWorkers})`,
      autoOrNumber,
    )
    .option('--name <text>', 'a name for the run, shown in the panel and by status (default none)')
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the runtime's log lines", false)
    .action(async (flags: TrialsFlags) => {
      const request = requestFromFlags(flags);
      const runDir = resolve(flags.out);
      cli.setRunDir(runDir);
      await job.create(request, runDir, {});
      await cli.runToEnd(runDir, 'start', flags);
    });
}
