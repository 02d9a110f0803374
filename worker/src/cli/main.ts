/** The `headroom` command line. Exit codes: 0 done, 2 bad input or usage, 3 interrupted (resumable), 1 internal. */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Aggregate, DeviceRequest, EnsembleMode, OomPolicy } from '../contract/protocol.js';
import { createEmbedRun, EMBED_DEFAULTS, executeRun, type EmbedOptions } from '../jobs/embed/embedRun.js';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../jobs/embed/defaults.js';
import { ensembleEntries, ensembleMode, weightProblem } from '../jobs/embed/ensemble.js';
import { runStatus, type StatusReport } from '../jobs/embed/runStatus.js';
import { readManifest } from '../runs/manifest.js';
import { repairJournal, type RepairReport } from '../runs/repair.js';
import { runDoctor } from '../panel/doctor.js';
import { defaultRunsDir } from '../runs/runsDir.js';
import { servePanel } from './serve.js';
import { asHeadroomError, EXIT_CODES, HeadroomError } from '../errors.js';
import { REPO_ROOT } from '../runtimePaths.js';
import { redact } from '../redact.js';
import { HEADROOM_VERSION } from '../version.js';
import { humanReporter, jsonReporter, type Reporter } from './progress.js';
import { guardSignals, type SignalGuard } from './signals.js';

export { DEFAULT_MODEL, DEMO_CORPUS } from '../jobs/embed/defaults.js';
export const DEMO_RUN = join(REPO_ROOT, '.headroom', 'runs', 'demo');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number of 1 or more');
  }
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
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

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Everything the CLI prints leaves through here, with secrets masked (see redact.ts). */
function redactingStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (stream.write as (...args: unknown[]) => boolean)(typeof chunk === 'string' ? redact(chunk) : chunk, ...rest);
  return Object.create(stream, { write: { value: write } }) as NodeJS.WriteStream;
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

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

function reporterFor(json: boolean, verbose: boolean, io: Io): Reporter {
  return json ? jsonReporter((line) => io.stdout.write(`${line}\n`)) : humanReporter(io.stderr, verbose);
}

async function runToEnd(
  runDir: string,
  command: 'embed' | 'resume',
  reporter: Reporter,
  io: Io,
  json: boolean,
  changes: { oomPolicy?: OomPolicy; ensembleMode?: EnsembleMode } = {},
): Promise<void> {
  const controller = new AbortController();
  const release = session.guard?.whileRunning(() => controller.abort());
  try {
    const summary = await executeRun(runDir, { command, ...changes, signal: controller.signal, onProgress: (event) => reporter.progress(event) });
    reporter.summary(summary);
    if (!json) io.stdout.write(`${summary.runDir}\n`);
  } finally {
    release?.();
    reporter.close();
  }
}

function printRepair(report: RepairReport, dir: string, json: boolean, io: Io): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ event: 'repaired', ...report })}\n`);
    return;
  }
  if (report.moved.length === 0) {
    io.stdout.write(`${report.journal}: no damaged lines, nothing to repair (${report.kept} records)\n`);
    return;
  }
  const lines = report.moved.map((entry) => `moved line ${entry.line} (${entry.reason})`);
  lines.push(`to ${report.aside}; kept ${report.kept} valid records in ${report.journal}`, `continue with: headroom resume ${dir} (it recomputes the chunks no valid record names)`);
  io.stdout.write(`${lines.join('\n')}\n`);
}

function printStatus(report: StatusReport, json: boolean, io: Io): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    `run      ${report.runDir}`,
    `state    ${report.status}${report.owner ? ` (process ${report.owner})` : ''}`,
    ...report.models.map((model, i) => `${i === 0 ? 'models  ' : '        '} ${model}`),
    `mode     ${report.ensembleMode}`,
    `input    ${report.input}`,
    `chunks   ${report.chunksDone}/${report.chunksTotal} (model, chunk) units`,
    `rows     ${report.rowsDone}/${report.rowsTotal} (${report.truncated} truncated at the max length, ${report.cutToFit} cut to fit memory, ${report.onCpu} on the CPU)`,
    ...(report.hangs > 0 ? [`hangs    ${report.hangs} hung worker(s) killed and replaced`] : []),
  ];
  if (report.lastInterruption && report.status === 'interrupted') lines.push(`stopped  ${report.lastInterruption}`);
  for (const error of report.errors) lines.push(`error    ${error}`);
  if (report.status === 'interrupted') lines.push(`continue with: headroom resume ${report.runDir}`);
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function buildProgram(io: Io): Command {
  const program = new Command('headroom')
    .description('Chunked, resumable embedding runs on one GPU workstation.')
    .version(HEADROOM_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  program
    .command('embed')
    .description('embed a corpus (.txt, .jsonl, .csv) into DIR/embeddings.npy')
    .argument('<input>', 'corpus file')
    .requiredOption('--out <dir>', 'run folder to create')
    .option('--model <name>', `hub name (offline cache or bundled) or local folder; repeat for an ensemble (default ${DEFAULT_MODEL})`, collect, [])
    .option('--weights <list>', 'one weight per --model, comma-separated (default equal)', weights)
    .addOption(new Option('--ensemble-mode <mode>', `all models resident at once, or one pass per model (default: $HEADROOM_ENSEMBLE_MODE, else simultaneous)`).choices(EnsembleMode.options))
    .addOption(new Option('--aggregate <how>', "join the models' L2-normalised, weighted embeddings").choices(Aggregate.options).default('concat'))
    .option('--chunk-size <n>', 'documents per chunk file', positiveInt, 1000)
    .option('--batch-size <n|auto>', 'auto: batches sized by a token budget from memory; N: fixed batches', batchSize, 'auto' as const)
    .option('--min-batch <n>', 'fewest documents per auto batch (until memory says otherwise)', positiveInt, 8)
    .option('--max-batch <n>', 'most documents per auto batch', positiveInt, 512)
    .option('--max-batch-tokens <n>', 'pin the budget: padded tokens per batch', positiveInt)
    .option('--target-memory <fraction>', 'peak memory the budget grows to, of the device or the cap', fraction, 0.85)
    .option('--vram-limit <gib>', "cap the worker's GPU memory (rehearse a smaller card)", gib)
    .addOption(new Option('--oom-policy <policy>', 'when one document alone does not fit').choices(OomPolicy.options).default('fail'))
    .addOption(new Option('--device <device>', 'auto (least-loaded GPU with room, else cpu), cpu, cuda or cuda:N; one, or one per --model').default(['auto']).argParser(devices))
    .option('--max-seq-len <n>', "override the model's max sequence length (tokens)", positiveInt)
    .option('--text-field <name>', 'text field (.jsonl) or column (.csv)', 'text')
    .option('--id-field <name>', 'id field (.jsonl) or column (.csv); line number when absent', 'id')
    .option('--keep-chunks', 'keep chunk files after assembly', false)
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the worker's log lines", false)
    .action(async (input: string, opts: EmbedCliOptions) => {
      if (opts.minBatch > opts.maxBatch) {
        throw new HeadroomError('usage', `--min-batch ${opts.minBatch} is above --max-batch ${opts.maxBatch}`);
      }
      const models = opts.model.length > 0 ? opts.model : [DEFAULT_MODEL];
      if (opts.device.length !== 1 && opts.device.length !== models.length) {
        throw new HeadroomError('usage', `--device lists ${opts.device.length} devices for ${models.length} model(s); give one for all, or one per --model`);
      }
      const options: EmbedOptions = {
        models: ensembleEntries(
          models.map((model, i) => ({ model, device: opts.device[i] ?? opts.device[0]! })),
          opts.weights,
        ),
        ensembleMode: ensembleMode(opts.ensembleMode),
        aggregate: opts.aggregate,
        chunkSize: opts.chunkSize,
        batchSize: opts.batchSize,
        minBatch: opts.minBatch,
        maxBatch: opts.maxBatch,
        maxBatchTokens: opts.maxBatchTokens ?? null,
        targetMemory: opts.targetMemory,
        vramLimitGiB: opts.vramLimit ?? null,
        oomPolicy: opts.oomPolicy,
        maxSeqLen: opts.maxSeqLen ?? null,
        textField: opts.textField,
        idField: opts.idField,
        keepChunks: opts.keepChunks,
      };
      session.runDir = resolve(opts.out);
      const runDir = await createEmbedRun(input, opts.out, options);
      await runToEnd(runDir, 'embed', reporterFor(opts.json, opts.verbose, io), io, opts.json);
    });

  program
    .command('resume')
    .description('finish an interrupted run; finished chunks are checked, not recomputed')
    .argument('<dir>', 'run folder')
    .addOption(new Option('--oom-policy <policy>', 'change the OOM policy for the rest of the run').choices(OomPolicy.options))
    .addOption(new Option('--ensemble-mode <mode>', 'change the ensemble mode for the rest of the run').choices(EnsembleMode.options))
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the worker's log lines", false)
    .action(async (dir: string, opts: { json: boolean; verbose: boolean; oomPolicy?: OomPolicy; ensembleMode?: EnsembleMode }) => {
      session.runDir = resolve(dir);
      await runToEnd(dir, 'resume', reporterFor(opts.json, opts.verbose, io), io, opts.json, { oomPolicy: opts.oomPolicy, ensembleMode: opts.ensembleMode });
    });

  program
    .command('status')
    .description('state, chunks done/total, rows, errors')
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object on stdout', false)
    .action((dir: string, opts: { json: boolean }) => printStatus(runStatus(dir), opts.json, io));

  program
    .command('repair')
    .description("move a damaged journal's bad lines aside (into journal.jsonl.damaged); resume then recomputes what they described")
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object on stdout', false)
    .action((dir: string, opts: { json: boolean }) => {
      session.runDir = resolve(dir);
      printRepair(repairJournal(dir), dir, opts.json, io);
    });

  program
    .command('serve')
    .description('serve the control panel in a browser (for machines with no desktop); prints its URL with a token')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port; 0 picks a free one', portNumber, 0)
    .option('--runs-dir <dir>', 'runs folder (default: $HEADROOM_RUNS_DIR, else the per-user data folder)')
    .option('--allow-remote', 'allow listening on an address other than loopback', false)
    .action(async (opts: { host: string; port: number; runsDir?: string; allowRemote: boolean }) => {
      await servePanel({ ...opts, runsDir: opts.runsDir ?? defaultRunsDir() }, io);
    });

  program
    .command('doctor')
    .description('check Python, torch, CUDA, GPUs, nvidia-smi, disk space and the default model')
    .option('--runs-dir <dir>', 'runs folder whose disk is checked')
    .option('--json', 'one JSON object on stdout', false)
    .action(async (opts: { runsDir?: string; json: boolean }) => {
      const runsDir = opts.runsDir ?? defaultRunsDir();
      mkdirSync(runsDir, { recursive: true });
      const report = await runDoctor({ runsDir });
      if (opts.json) io.stdout.write(`${JSON.stringify(report)}\n`);
      else for (const check of report.checks) io.stdout.write(`${check.ok ? 'ok  ' : 'FIX '} ${check.name.padEnd(22)} ${check.detail}${check.fix ? `\n      -> ${check.fix}` : ''}\n`);
    });

  program
    .command('demo')
    .description('embed the built-in demo corpus with the default model (resumes if interrupted)')
    .option('--json', 'one JSON object per line on stdout', false)
    .action(async (opts: { json: boolean }) => {
      if (!existsSync(DEMO_CORPUS)) {
        throw new HeadroomError('usage', `the demo corpus ${DEMO_CORPUS} is missing: run \`npm run setup\``);
      }
      session.runDir = DEMO_RUN;
      if (existsSync(join(DEMO_RUN, 'run.json')) && !isCurrentRun(DEMO_RUN)) rmSync(DEMO_RUN, { recursive: true, force: true });
      const runDir = existsSync(join(DEMO_RUN, 'run.json'))
        ? DEMO_RUN
        : await createEmbedRun(DEMO_CORPUS, DEMO_RUN, { ...EMBED_DEFAULTS, models: ensembleEntries([{ model: DEFAULT_MODEL, device: 'auto' }], undefined), chunkSize: 500 });
      await runToEnd(runDir, 'resume', reporterFor(opts.json, false, io), io, opts.json);
      if (!opts.json) io.stderr.write(`demo output in ${DEMO_RUN} (delete it to run the demo again)\n`);
    });

  return program;
}

interface EmbedCliOptions {
  out: string;
  model: string[];
  weights?: number[];
  ensembleMode?: EnsembleMode;
  aggregate: Aggregate;
  chunkSize: number;
  batchSize: number | 'auto';
  minBatch: number;
  maxBatch: number;
  maxBatchTokens?: number;
  targetMemory: number;
  vramLimit?: number;
  oomPolicy: OomPolicy;
  device: string[];
  maxSeqLen?: number;
  textField: string;
  idField: string;
  keepChunks: boolean;
  json: boolean;
  verbose: boolean;
}

/** What one invocation's commands share with main(): the run folder it works on, its signal guard. */
const session: { runDir?: string; guard?: SignalGuard } = {};

/** Commander's own errors (unknown option, missing argument) as the usage errors they are; help and version are not failures. */
function commanderFailure(error: CommanderError): HeadroomError | undefined {
  if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return undefined;
  return new HeadroomError('usage', error.message.replace(/^error: /, ''));
}

export async function main(argv: string[], raw: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = argv.includes('--json');
  // A closed pipe (`headroom status | head`) must not turn into an uncaught error.
  for (const stream of [raw.stdout, raw.stderr]) stream.on('error', () => undefined);
  const io: Io = { stdout: redactingStream(raw.stdout), stderr: redactingStream(raw.stderr) };
  /** Every failure leaves the same way: one line on stderr and, with --json, one JSON line on stdout. */
  const fail = (failure: HeadroomError, toStderr = true): number => {
    const exitCode = EXIT_CODES[failure.kind];
    if (json) io.stdout.write(`${JSON.stringify({ event: 'error', kind: failure.kind, exitCode, message: failure.message })}\n`);
    if (toStderr) io.stderr.write(`headroom: ${failure.message}\n`);
    if (failure.kind === 'internal' && failure.cause instanceof Error && failure.cause.stack) {
      io.stderr.write(process.env.HEADROOM_DEBUG ? `${failure.cause.stack}\n` : 'headroom: (set HEADROOM_DEBUG=1 to see where it happened)\n');
    }
    return exitCode;
  };
  const crash = (error: unknown): void => process.exit(fail(asHeadroomError(error, session.runDir)));
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  session.runDir = undefined;
  session.guard = guardSignals(
    (signal) => process.exit(fail(new HeadroomError('interrupted', `stopped by ${signal}`))),
    (text) => io.stderr.write(`headroom: ${text}\n`),
  );
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return EXIT_CODES.done;
  } catch (error) {
    if (error instanceof CommanderError) {
      const failure = commanderFailure(error);
      return failure ? fail(failure, false) : EXIT_CODES.done; // commander has written it to stderr
    }
    return fail(asHeadroomError(error, session.runDir));
  } finally {
    process.off('uncaughtException', crash);
    process.off('unhandledRejection', crash);
  }
}
