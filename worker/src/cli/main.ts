/** The `headroom` command line. Exit codes: 0 done, 2 bad input or usage, 3 interrupted (resumable), 1 internal. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerBuiltinJobs } from '../jobs/builtin.js';
import type { CliContext, JobEvent, StatusBase } from '../jobs/job.js';
import { jobFor, loadJobModules, registeredJobs } from '../jobs/registry.js';
import { readRunHeader, refuseOtherFormat } from '../runs/manifest.js';
import { repairJournal, type RepairReport } from '../runs/repair.js';
import { runDoctor } from '../panel/doctor.js';
import { defaultRunsDir } from '../runs/runsDir.js';
import { servePanel } from './serve.js';
import { addGpusCommand } from './gpus.js';
import { asHeadroomError, EXIT_CODES, HeadroomError } from '../errors.js';
import { redact } from '../redact.js';
import { HEADROOM_VERSION } from '../version.js';
import { duration, elapsedNow } from '../contract/words.js';
import { RecordedSession } from '../jobs/recordedSession.js';
import { jsonReporter } from './jsonReporter.js';
import { guardSignals, type SignalGuard } from './signals.js';

registerBuiltinJobs();

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** Everything the CLI prints leaves through here, with secrets masked (see redact.ts). */
function redactingStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (stream.write as (...args: unknown[]) => boolean)(typeof chunk === 'string' ? redact(chunk) : chunk, ...rest);
  return Object.create(stream, { write: { value: write } }) as NodeJS.WriteStream;
}

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Runs one session of the run in runDir (whatever its kind) to its end: --json lines or the kind's own reporter. */
async function runToEnd(runDir: string, command: 'start' | 'resume', io: Io, options: { json: boolean; verbose: boolean }, settings?: unknown): Promise<void> {
  const job = jobFor(readRunHeader(runDir).kind, runDir);
  const reporter = options.json ? jsonReporter((line) => io.stdout.write(`${line}\n`)) : job.reporter({ verbose: options.verbose, stderr: io.stderr });
  // Drawing progress must never stop the run: a fault there is said once, and the run goes on.
  let drawFailed = false;
  const showProgress = (event: JobEvent): void => {
    try {
      reporter.progress(event);
    } catch (error) {
      if (!drawFailed) io.stderr.write(`headroom: cannot show progress (the run goes on): ${asHeadroomError(error).message}\n`);
      drawFailed = true;
    }
  };
  const controller = new AbortController();
  const release = session.guard?.whileRunning(() => controller.abort());
  // The CLI records the run's history as the panel does: any run can be drawn from disk.
  const recorded = new RecordedSession(job, runDir, command);
  const report = (event: JobEvent): void => {
    recorded.record(event);
    showProgress(event);
  };
  try {
    const summary = await job.execute(runDir, { command, settings, signal: controller.signal, report }).catch((error: unknown) => {
      recorded.end(error);
      throw error;
    });
    recorded.end();
    reporter.summary(summary);
    if (!options.json) io.stdout.write(`${summary.runDir}\n`);
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

function printStatus(runDir: string, json: boolean, io: Io, verbose = false): void {
  const header = readRunHeader(runDir);
  const job = jobFor(header.kind, runDir);
  // The name the user gave the run (run.json's header, any kind), as the panel shows it.
  const report: StatusBase & { name: string | null } = { name: header.name ?? null, ...job.status(runDir) };
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    ...(report.name ? [`name     ${report.name}`] : []),
    `run      ${report.runDir}`,
    `kind     ${report.kind}`,
    `state    ${report.status}${report.owner ? ` (process ${report.owner})` : ''}`,
    // The same words as the panel's header (RunInfoBase: phase, progressLine, elapsed, ETA).
    ...(report.phase === undefined ? [] : [`phase    ${report.phase}`]),
    ...(report.progressLine === undefined ? [] : [`progress ${report.progressLine}`]),
    ...(report.elapsedMs === undefined ? [] : [`elapsed  ${duration(elapsedNow({ elapsedMs: report.elapsedMs, sessionStartedAt: report.sessionStartedAt ?? null }))}${report.etaMs == null ? '' : ` · about ${duration(report.etaMs)} left`}`]),
    ...job.statusLines(report, { verbose }),
  ];
  if (report.lastInterruption && report.status === 'interrupted') lines.push(`stopped  ${report.lastInterruption}`);
  if (report.failure) lines.push(`why      ${report.failure.why}`, `fix      ${report.failure.fix}`);
  for (const error of report.errors) lines.push(`error    ${error}`);
  if (report.status === 'interrupted') lines.push(`continue with: headroom resume ${report.runDir}`);
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function buildProgram(io: Io): Command {
  const program = new Command('headroom')
    .description('Chunked, resumable GPU jobs (embedding runs, trial sweeps) on one workstation.')
    .version(HEADROOM_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const cli: CliContext = {
    runToEnd: (runDir, command, options) => runToEnd(runDir, command, io, options),
    setRunDir: (runDir) => {
      session.runDir = runDir;
    },
    say: (text) => io.stderr.write(`${text}\n`),
  };
  for (const job of registeredJobs()) job.addCommands?.(program, cli);

  const resume = program
    .command('resume')
    .description('finish an interrupted run of any kind; finished units are checked, not recomputed')
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object per line on stdout', false)
    .option('--verbose', "show the runtime's log lines", false);
  const flagOwners = new Map<string, string>();
  for (const job of registeredJobs()) {
    for (const option of job.resumeFlags?.options() ?? []) {
      flagOwners.set(option.attributeName(), job.kind);
      resume.addOption(option);
    }
  }
  resume.action(async (dir: string, opts: { json: boolean; verbose: boolean } & Record<string, unknown>) => {
    session.runDir = resolve(dir);
    const job = jobFor(readRunHeader(dir).kind, dir);
    const foreign = [...flagOwners].filter(([name, kind]) => kind !== job.kind && opts[name] !== undefined);
    if (foreign.length > 0) throw new HeadroomError('usage', `${dir} is a ${job.kind} run: ${foreign.map(([name, kind]) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for ${kind} runs`).join('; ')}`);
    await runToEnd(dir, 'resume', io, opts, job.resumeFlags?.settings(opts));
  });

  program
    .command('status')
    .description('state, units done/total and the figures of a run of any kind, its errors')
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object on stdout', false)
    .option('--verbose', 'also the units of work ((model, chunk) pairs for embed runs)', false)
    .action((dir: string, opts: { json: boolean; verbose: boolean }) => printStatus(dir, opts.json, io, opts.verbose));

  program
    .command('repair')
    .description("move a damaged journal's bad lines aside (into journal.jsonl.damaged); resume then recomputes what they described")
    .argument('<dir>', 'run folder')
    .option('--json', 'one JSON object on stdout', false)
    .action((dir: string, opts: { json: boolean }) => {
      session.runDir = resolve(dir);
      const header = readRunHeader(dir);
      const job = jobFor(header.kind, dir);
      refuseOtherFormat(dir, header.format, job.format); // another Headroom's journal may hold records this one does not know
      printRepair(repairJournal(dir, job.records), dir, opts.json, io);
    });

  program
    .command('serve')
    .description('serve the control panel in a browser (for machines with no desktop); prints its URL with a token')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port; 0 picks a free one', portNumber, 0)
    .option('--runs-dir <dir>', 'runs folder (default: $HEADROOM_RUNS_DIR, else the per-user data folder)')
    .option('--allow-remote', 'allow listening on an address other than loopback', false)
    .option('--new-token', 'with --port N: replace the access token kept for that port (tabs opened before are refused)')
    .action(async (opts: { host: string; port: number; runsDir?: string; allowRemote: boolean; newToken?: boolean }) => {
      await servePanel({ ...opts, runsDir: opts.runsDir ?? defaultRunsDir() }, io);
    });

  addGpusCommand(program, io);

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

  return program;
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
    await loadJobModules();
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
