/** The `headroom` command line. Exit codes: 0 done, 2 bad input or usage, 3 interrupted (resumable), 1 internal. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DeviceRequest, OomPolicy } from '../contract/protocol.js';
import { createEmbedRun, executeRun, type EmbedOptions } from '../engine/embedRun.js';
import { runStatus, type StatusReport } from '../engine/runStatus.js';
import { asHeadroomError, EXIT_CODES, HeadroomError } from '../errors.js';
import { REPO_ROOT } from '../python.js';
import { HEADROOM_VERSION } from '../version.js';
import { humanReporter, jsonReporter, type Reporter } from './progress.js';

export const DEFAULT_MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
export const DEMO_CORPUS = join(REPO_ROOT, '.headroom', 'demo-corpus.jsonl');
export const DEMO_RUN = join(REPO_ROOT, '.headroom', 'runs', 'demo');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number of 1 or more');
  }
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

function device(value: string): string {
  if (!DeviceRequest.safeParse(value).success) throw new InvalidArgumentError('expected auto, cpu, cuda or cuda:N');
  return value;
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
  oomPolicy?: OomPolicy,
): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const summary = await executeRun(runDir, { command, oomPolicy, signal: controller.signal, onProgress: (event) => reporter.progress(event) });
    reporter.summary(summary);
    if (!json) io.stdout.write(`${summary.runDir}\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    reporter.close();
  }
}

function printStatus(report: StatusReport, json: boolean, io: Io): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    `run      ${report.runDir}`,
    `state    ${report.status}${report.owner ? ` (process ${report.owner})` : ''}`,
    `model    ${report.model}`,
    `input    ${report.input}`,
    `chunks   ${report.chunksDone}/${report.chunksTotal}`,
    `rows     ${report.rowsDone}/${report.rowsTotal} (${report.truncated} truncated)`,
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
    .option('--model <name>', 'hub name (offline cache or bundled) or local folder', DEFAULT_MODEL)
    .option('--chunk-size <n>', 'documents per chunk file', positiveInt, 1000)
    .option('--batch-size <n|auto>', 'auto: batches sized by a token budget from memory; N: fixed batches', batchSize, 'auto' as const)
    .option('--min-batch <n>', 'fewest documents per auto batch (until memory says otherwise)', positiveInt, 8)
    .option('--max-batch <n>', 'most documents per auto batch', positiveInt, 512)
    .option('--max-batch-tokens <n>', 'pin the budget: padded tokens per batch', positiveInt)
    .option('--target-memory <fraction>', 'peak memory the budget grows to, of the device or the cap', fraction, 0.85)
    .option('--vram-limit <gib>', "cap the worker's GPU memory (rehearse a smaller card)", gib)
    .addOption(new Option('--oom-policy <policy>', 'when one document alone does not fit').choices(OomPolicy.options).default('fail'))
    .addOption(new Option('--device <device>', 'auto, cpu, cuda or cuda:N').default('auto').argParser(device))
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
      const options: EmbedOptions = {
        model: opts.model,
        device: opts.device,
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
      const runDir = createEmbedRun(input, opts.out, options);
      await runToEnd(runDir, 'embed', reporterFor(opts.json, opts.verbose, io), io, opts.json);
    });

  program
    .command('resume')
    .description('finish an interrupted run; finished chunks are checked, not recomputed')
    .argument('<dir>', 'run folder')
    .addOption(new Option('--oom-policy <policy>', 'change the OOM policy for the rest of the run').choices(OomPolicy.options))
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the worker's log lines", false)
    .action(async (dir: string, opts: { json: boolean; verbose: boolean; oomPolicy?: OomPolicy }) => {
      await runToEnd(dir, 'resume', reporterFor(opts.json, opts.verbose, io), io, opts.json, opts.oomPolicy);
    });

  program
    .command('status')
    .description('state, chunks done/total, rows, errors')
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object on stdout', false)
    .action((dir: string, opts: { json: boolean }) => printStatus(runStatus(dir), opts.json, io));

  program
    .command('demo')
    .description('embed the built-in demo corpus with the default model (resumes if interrupted)')
    .option('--json', 'one JSON object per line on stdout', false)
    .action(async (opts: { json: boolean }) => {
      if (!existsSync(DEMO_CORPUS)) {
        throw new HeadroomError('usage', `the demo corpus ${DEMO_CORPUS} is missing: run \`npm run setup\``);
      }
      const runDir = existsSync(join(DEMO_RUN, 'run.json'))
        ? DEMO_RUN
        : createEmbedRun(DEMO_CORPUS, DEMO_RUN, {
            model: DEFAULT_MODEL,
            device: 'auto',
            chunkSize: 500,
            batchSize: 'auto',
            minBatch: 8,
            maxBatch: 512,
            maxBatchTokens: null,
            targetMemory: 0.85,
            vramLimitGiB: null,
            oomPolicy: 'fail',
            maxSeqLen: null,
            textField: 'text',
            idField: 'id',
            keepChunks: false,
          });
      await runToEnd(runDir, 'resume', reporterFor(opts.json, false, io), io, opts.json);
      if (!opts.json) io.stderr.write(`demo output in ${DEMO_RUN} (delete it to run the demo again)\n`);
    });

  return program;
}

interface EmbedCliOptions {
  out: string;
  model: string;
  chunkSize: number;
  batchSize: number | 'auto';
  minBatch: number;
  maxBatch: number;
  maxBatchTokens?: number;
  targetMemory: number;
  vramLimit?: number;
  oomPolicy: OomPolicy;
  device: string;
  maxSeqLen?: number;
  textField: string;
  idField: string;
  keepChunks: boolean;
  json: boolean;
  verbose: boolean;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = argv.includes('--json');
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return EXIT_CODES.done;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are not failures; every other parse error is a usage error
      return error.exitCode === 0 ? 0 : EXIT_CODES.usage;
    }
    const failure = asHeadroomError(error);
    if (json) io.stdout.write(`${JSON.stringify({ event: 'error', kind: failure.kind, message: failure.message })}\n`);
    io.stderr.write(`headroom: ${failure.message}\n`);
    if (failure.kind === 'internal' && failure.cause instanceof Error && failure.cause.stack) {
      io.stderr.write(`${failure.cause.stack}\n`);
    }
    return EXIT_CODES[failure.kind];
  }
}
