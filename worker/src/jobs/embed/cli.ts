/** The embedding job's CLI commands: `headroom embed` and `headroom demo`. Flags build an EmbedRequest; its schema holds every default and rule. */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import { EMBED_REQUEST_DEFAULTS, EmbedRequest, OnCritical } from '../../contract/jobs/embed.js';
import { Aggregate, DeviceRequest, EnsembleMode, OomPolicy } from '../../contract/protocol.js';
import { HeadroomError } from '../../errors.js';
import { REPO_ROOT } from '../../runtimePaths.js';
import type { CliContext, Job } from '../job.js';
import { DEFAULT_MODEL, DEMO_CORPUS } from './defaults.js';
import { checkWeightCount, ensembleMode, weightProblem } from './ensemble.js';
import { readManifest } from './manifest.js';
import { RequestFieldError } from './requestCheck.js';
import { deviceConflict, parseWorkers } from './workerPlan.js';

export const DEMO_RUN = join(REPO_ROOT, '.headroom', 'runs', 'demo');
const D = EMBED_REQUEST_DEFAULTS;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}

function batchSize(value: string): number | 'auto' {
  return value === 'auto' ? 'auto' : positiveInt(value);
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('expected a fraction above 0 and at most 1');
  return n;
}

/** A VRAM guard level in percent (1..100), as the request's fraction. */
function percent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 1 || n > 100) throw new InvalidArgumentError('expected a percentage from 1 to 100');
  return n / 100;
}

function gib(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of GiB');
  return n;
}

function devices(value: string): string[] {
  const list = value.split(',').map((item) => item.trim());
  if (!list.every((item) => DeviceRequest.safeParse(item).success)) throw new InvalidArgumentError('expected auto, cpu, cuda or cuda:N (one, or one per --model, comma-separated)');
  return list;
}

function weights(value: string): number[] {
  const list = value.split(',').map((item) => item.trim());
  const numbers = list.map(Number);
  const bad = list.findIndex((item, i) => item === '' || weightProblem(numbers[i]!) !== undefined);
  if (bad >= 0) throw new InvalidArgumentError(`weight ${bad + 1} ("${list[bad]}") ${list[bad] === '' ? 'is empty' : weightProblem(numbers[bad]!)}`);
  return numbers;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const flag = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

interface EmbedFlags {
  out: string;
  /** Absent when no --model is given (the help then says the one default, not "[]"). */
  model?: string[];
  weights?: number[];
  ensembleMode?: EnsembleMode;
  aggregate?: Aggregate;
  chunkSize?: number;
  batchSize?: number | 'auto';
  minBatch?: number;
  maxBatch?: number;
  maxBatchTokens?: number;
  targetMemory?: number;
  vramLimit?: number;
  oomPolicy?: OomPolicy;
  vramWarning?: number;
  vramCritical?: number;
  onCritical?: OnCritical;
  device: string[];
  /** --workers as given (all, or cpu/cuda:N comma-separated): checked by parseWorkers. */
  workers?: string;
  maxSeqLen?: number;
  textField?: string;
  idField?: string;
  keepChunks?: boolean;
  name?: string;
  json: boolean;
  verbose: boolean;
}

/** The flags as a request: what is not given stays undefined, so the schema's default applies. */
export function requestFromFlags(input: string, flags: EmbedFlags): z.output<typeof EmbedRequest> {
  const models = flags.model && flags.model.length > 0 ? flags.model : [DEFAULT_MODEL];
  if (flags.device.length !== 1 && flags.device.length !== models.length) {
    throw new HeadroomError('usage', `--device lists ${flags.device.length} devices for ${models.length} model(s); give one for all, or one per --model`);
  }
  checkWeightCount(flags.weights, models.length);
  const workers = flags.workers === undefined ? undefined : parseWorkers(flags.workers);
  const conflict = workers && deviceConflict(flags.device.map((device) => ({ device })), workers);
  if (conflict !== undefined) throw new HeadroomError('usage', conflict);
  const parsed = EmbedRequest.safeParse({
    input,
    models: models.map((model, i) => ({ model, device: flags.device[i] ?? flags.device[0]!, ...(flags.weights ? { weight: flags.weights[i] } : {}) })),
    ensembleMode: ensembleMode(flags.ensembleMode),
    aggregate: flags.aggregate,
    chunkSize: flags.chunkSize,
    batchSize: flags.batchSize,
    minBatch: flags.minBatch,
    maxBatch: flags.maxBatch,
    maxBatchTokens: flags.maxBatchTokens,
    targetMemory: flags.targetMemory,
    vramLimitGiB: flags.vramLimit,
    oomPolicy: flags.oomPolicy,
    vramWarning: flags.vramWarning,
    vramCritical: flags.vramCritical,
    onCritical: flags.onCritical,
    maxSeqLen: flags.maxSeqLen,
    textField: flags.textField,
    idField: flags.idField,
    keepChunks: flags.keepChunks,
    workers,
    name: flags.name,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? 'input');
    throw new HeadroomError('usage', `${field === 'input' ? 'input' : flag(field === 'vramLimitGiB' ? 'vramLimit' : field === 'models' ? 'model' : field)}: ${issue.message}`);
  }
  return parsed.data;
}

/** The demo run is ours to redo when an older Headroom made it. */
function isCurrentRun(runDir: string): boolean {
  try {
    readManifest(runDir);
    return true;
  } catch {
    return false;
  }
}

export function addEmbedCommands(program: Command, cli: CliContext, embedJob: Pick<Job<z.output<typeof EmbedRequest>>, 'create'>): void {
  program
    .command('embed')
    .description('embed a corpus (.txt, .jsonl, .csv) into DIR/embeddings.npy')
    .argument('<input>', 'corpus file')
    .requiredOption('--out <dir>', 'run folder to create')
    .option('--model <name>', `hub name (offline cache or bundled) or local folder; repeat for an ensemble (default ${DEFAULT_MODEL})`, collect)
    .option('--weights <list>', 'one weight per --model, comma-separated (default equal)', weights)
    .addOption(new Option('--ensemble-mode <mode>', `all models resident at once, or one pass per model (default: $HEADROOM_ENSEMBLE_MODE, else ${D.ensembleMode})`).choices(EnsembleMode.options))
    .addOption(new Option('--aggregate <how>', `join the models' L2-normalised, weighted embeddings (default ${D.aggregate})`).choices(Aggregate.options))
    .option('--chunk-size <n>', `documents per chunk file (default ${D.chunkSize})`, positiveInt)
    .option('--batch-size <n|auto>', `auto: batches sized by a token budget from memory; N: fixed batches (default ${D.batchSize})`, batchSize)
    .option('--min-batch <n>', `fewest documents per auto batch, until memory says otherwise (default ${D.minBatch})`, positiveInt)
    .option('--max-batch <n>', `most documents per auto batch (default ${D.maxBatch})`, positiveInt)
    .option('--max-batch-tokens <n>', 'pin the budget: padded tokens per batch', positiveInt)
    .option('--target-memory <fraction>', `peak memory the budget grows to, of the device or the cap (default ${D.targetMemory})`, fraction)
    .option('--vram-limit <gib>', "cap the runtime's GPU memory (rehearse a smaller card)", gib)
    .addOption(new Option('--oom-policy <policy>', `when one document alone does not fit (default ${D.oomPolicy})`).choices(OomPolicy.options))
    .option('--vram-warning <percent>', `memory used, in % of the device or the cap, that is a warning (default ${D.vramWarning * 100})`, percent)
    .option('--vram-critical <percent>', `memory used, in % of the device or the cap, where the guard acts (default ${D.vramCritical * 100})`, percent)
    .addOption(new Option('--on-critical <action>', `at the critical level: shrink the batches and release cached memory, or pause the run (default ${D.onCritical})`).choices(OnCritical.options))
    .addOption(new Option('--device <device>', 'auto (least-loaded GPU with room, else cpu), cpu, cuda or cuda:N; one, or one per --model').default(['auto'], 'auto').argParser(devices))
    .option('--workers <devices>', 'one worker per device sharing the run: cuda:0,cuda:1, all (every visible GPU) or cpu,cpu (default: one worker, on the models\' devices)')
    .option('--max-seq-len <n>', "override the model's max sequence length (tokens)", positiveInt)
    .option('--text-field <name>', `text field (.jsonl) or column (.csv) (default ${D.textField})`)
    .option('--id-field <name>', `id field (.jsonl) or column (.csv); line number when absent (default ${D.idField})`)
    .option('--keep-chunks', 'keep chunk files after assembly')
    .option('--name <text>', 'a name for the run, shown in the panel and by status (default none)')
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the runtime's log lines", false)
    .action(async (input: string, flags: EmbedFlags) => {
      const request = requestFromFlags(input, flags);
      const runDir = resolve(flags.out);
      cli.setRunDir(runDir);
      try {
        await embedJob.create(request, runDir, {});
      } catch (error) {
        throw error instanceof RequestFieldError ? error.forCli() : error; // the panel's words name its form; here, the flags
      }
      await cli.runToEnd(runDir, 'start', flags);
    });

  program
    .command('demo')
    .description('embed the built-in demo corpus with the default model (resumes if interrupted)')
    .option('--json', 'one JSON object per line on stdout', false)
    .action(async (opts: { json: boolean }) => {
      if (!existsSync(DEMO_CORPUS)) throw new HeadroomError('usage', `the demo corpus ${DEMO_CORPUS} is missing: run \`npm run setup\``);
      cli.setRunDir(DEMO_RUN);
      if (existsSync(join(DEMO_RUN, 'run.json')) && !isCurrentRun(DEMO_RUN)) rmSync(DEMO_RUN, { recursive: true, force: true });
      if (!existsSync(join(DEMO_RUN, 'run.json'))) await embedJob.create(EmbedRequest.parse({ input: DEMO_CORPUS, models: [{ model: DEFAULT_MODEL }] }), DEMO_RUN, {});
      await cli.runToEnd(DEMO_RUN, 'resume', { json: opts.json, verbose: false });
      if (!opts.json) cli.say(`demo output in ${DEMO_RUN} (delete it to run the demo again)`);
    });
}
