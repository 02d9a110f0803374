/** `headroom trials`: flags build a TrialsRequest; its schema holds every default and rule (the help says its defaults). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { TRIALS_REQUEST_DEFAULTS, TrialsRequest, type TrialsRequestParsed } from '../../contract/jobs/trials.js';
import { SearchSpace, TrialParams, TrialsEngineName, TrialsSampler, TrialsTask } from '../../contract/trialsProtocol.js';
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
  name?: string;
  json: boolean;
  verbose: boolean;
}

const FLAG_OF: Record<string, string> = { vramLimitGiB: '--vram-limit', spaceSource: '--space', valFraction: '--val-fraction', targetMemory: '--target-memory' };
const flagOf = (field: string): string => FLAG_OF[field] ?? `--${field}`;

/** A space file, read and parsed here (its path travels as spaceSource, for the runtime's messages). */
export function readSpaceFile(file: string): { space: SearchSpace; spaceSource: string } {
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
  const parsed = SearchSpace.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new HeadroomError(
      'bad_input',
      `space file ${path}${where}: ${issue.message}; a space maps each parameter to an Optuna distribution, e.g. {"lr": {"name": "FloatDistribution", "attributes": {"low": 0.0001, "high": 0.01, "log": true}}}`,
    );
  }
  // A key the parse drops (JSON's own "__proto__") would be ignored silently: it is an unknown key like any other.
  const dropped = Object.keys(raw as object).find((key) => !Object.hasOwn(parsed.data, key));
  if (dropped !== undefined) {
    throw new HeadroomError('bad_input', `${path}: unknown key '${dropped}'; the known keys are ${Object.keys(TrialParams.shape).join(', ')}`);
  }
  return { space: parsed.data, spaceSource: path };
}

/** The flags as a request: what is not given stays undefined, so the schema's default applies. */
export function requestFromFlags(flags: TrialsFlags): TrialsRequestParsed {
  if (flags.folds !== undefined && flags.valFraction !== undefined) {
    throw new HeadroomError('usage', '--folds and --val-fraction exclude each other: K folds hold out every row once, --val-fraction holds out one part; give one');
  }
  const space = flags.space === undefined ? {} : readSpaceFile(flags.space);
  const parsed = TrialsRequest.safeParse({
    data: resolve(flags.data),
    target: flags.target.toLowerCase().endsWith('.npy') ? resolve(flags.target) : flags.target,
    task: flags.task,
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
    name: flags.name,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HeadroomError('usage', `${flagOf(String(issue.path[0] ?? 'data'))}: ${issue.message}`);
  }
  return parsed.data;
}

export function addTrialsCommands(program: Command, cli: CliContext, job: Pick<Job<TrialsRequestParsed>, 'create'>): void {
  program
    .command('trials')
    .description('sweep hyperparameters of small MLPs on a table: many trials trained at once, driven by Optuna; results in DIR/trials.jsonl and DIR/study.db')
    .requiredOption('--data <file>', 'features: X.npy, table.csv or table.parquet')
    .requiredOption('--target <y.npy|column>', 'the target: a .npy of one value per row, or a column of the table (left out of the features)')
    .requiredOption('--out <dir>', 'run folder to create')
    .addOption(new Option('--task <task>', `auto: binary when the target holds exactly 0 and 1, else regression (default ${D.task})`).choices(['auto', ...TrialsTask.options]))
    .option('--trials <n>', `trials to finish (default ${D.trials})`, number)
    .option('--concurrency <auto|n>', `members trained at once (a trial with K folds is K members); auto: from the memory estimate (default ${D.concurrency})`, autoOrNumber)
    .option('--epochs <n>', `most epochs per trial (default ${D.epochs})`, number)
    .option('--patience <n>', `epochs without a better validation loss before a trial stops; 0: never early (default ${D.patience})`, number)
    .option('--folds <k>', 'K-fold cross-validation instead of one held-out part (a trial trains K members)', number)
    .option('--val-fraction <f>', `the held-out part without --folds (default ${D.valFraction})`, number)
    .option('--space <file>', "search space as JSON: each parameter an Optuna distribution by name (default: the runtime's space)")
    .addOption(new Option('--sampler <sampler>', `Optuna sampler, seeded with --seed (default ${D.sampler})`).choices(TrialsSampler.options))
    .option('--seed <n>', `the run's seed: sampler and every trial's initial weights (default ${D.seed})`, number)
    .option('--device <device>', `auto (a GPU with room, else cpu), cpu, cuda or cuda:N (default ${D.device})`)
    .addOption(new Option('--engine <engine>', `auto: batched on a GPU, the fastest on a CPU (default ${D.engine})`).choices(['auto', ...TrialsEngineName.options]))
    .option('--vram-limit <gib>', "cap the runtime's GPU memory in GiB (rehearse a smaller card)", number)
    .option('--target-memory <fraction>', `share of the device (or the cap) the concurrency fills (default ${D.targetMemory})`, number)
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
