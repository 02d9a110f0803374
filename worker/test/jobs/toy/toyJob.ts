/**
 * A toy kind of job, in the test tree only: it sleeps through N units and journals
 * each one. It shows that a kind is added by adding a module (here loaded through
 * HEADROOM_JOBS or registerJob), with no edit to Headroom: no Python, no switch.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { HeadroomError } from '../../../src/errors.js';
import type { Job, StatusBase, SummaryBase } from '../../../src/jobs/job.js';
import { Journal, readJournal } from '../../../src/runs/journal.js';
import { replayLifecycle } from '../../../src/runs/lifecycle.js';
import { acquireLock, liveOwner } from '../../../src/runs/lock.js';
import { readKindManifest, runFiles, writeManifest } from '../../../src/runs/manifest.js';

const KIND = 'toy';
const FORMAT = 1;

const Request = z.object({ units: z.number().int().min(1), unitMs: z.number().int().min(1).default(100) }).strict();
type Request = z.output<typeof Request>;
const Settings = z.object({}).strict();
type Settings = z.infer<typeof Settings>;

const Manifest = z.object({ format: z.literal(FORMAT), kind: z.literal(KIND), createdAt: z.string(), units: z.number().int(), unitMs: z.number().int() });

const At = z.string();
const Records = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run_created'), at: At }),
  z.object({ type: z.literal('session_started'), at: At, pid: z.number().int(), command: z.enum(['start', 'resume']) }),
  z.object({ type: z.literal('unit_done'), at: At, index: z.number().int().nonnegative() }),
  z.object({ type: z.literal('run_interrupted'), at: At, reason: z.string() }),
  z.object({ type: z.literal('run_failed'), at: At, kind: z.string(), message: z.string() }),
  z.object({ type: z.literal('run_completed'), at: At, units: z.number().int() }),
]);
type ToyRecord = z.infer<typeof Records>;

type ToyEvent = { kind: 'started'; unitsDone: number; unitsTotal: number } | { kind: 'unit'; index: number; unitsDone: number; unitsTotal: number } | { kind: 'paused' } | { kind: 'resumed' } | { kind: 'log'; line: string };

interface ToyStatus extends StatusBase {
  kind: typeof KIND;
  unitMs: number;
}

interface ToySummary extends SummaryBase {
  units: number;
  /** Units slept through by this session. */
  unitsThisSession: number;
}

function done(records: readonly ToyRecord[]): Set<number> {
  return new Set(records.flatMap((record) => (record.type === 'unit_done' ? [record.index] : [])));
}

export const job: Job<Request, Settings, ToyStatus, ToySummary, ToyEvent> = {
  kind: KIND,
  unit: 'units',
  format: FORMAT,
  request: Request,
  records: Records,
  settings: Settings,
  async create(request, runDir) {
    mkdirSync(runDir, { recursive: true });
    writeManifest(runDir, { format: FORMAT, kind: KIND, createdAt: new Date().toISOString(), units: request.units, unitMs: request.unitMs });
    const journal = Journal.open(runFiles(runDir).journal, Records);
    journal.append({ type: 'run_created' });
    journal.close();
  },
  async execute(runDirArg, options) {
    const runDir = resolve(runDirArg);
    const manifest = readKindManifest(runDir, Manifest, FORMAT);
    const lock = acquireLock(runFiles(runDir).lock, runDir);
    const journal = Journal.open(runFiles(runDir).journal, Records);
    let slept = 0;
    try {
      const finished = done(journal.records);
      journal.append({ type: 'session_started', pid: process.pid, command: options.command });
      options.report?.({ kind: 'started', unitsDone: finished.size, unitsTotal: manifest.units });
      let wake: (() => void) | undefined;
      const unsubscribe = options.control?.subscribe((command) => {
        if (command.kind === 'pause') options.report?.({ kind: 'paused' });
        if (command.kind === 'resume') {
          options.report?.({ kind: 'resumed' });
          wake?.();
        }
      });
      try {
        for (let index = 0; index < manifest.units; index += 1) {
          if (finished.has(index)) continue;
          while (options.control?.paused && !options.signal?.aborted) await new Promise<void>((go) => { wake = go; setTimeout(go, 50); });
          await sleep(manifest.unitMs, undefined, { signal: options.signal }).catch(() => undefined);
          if (options.signal?.aborted) throw new HeadroomError('interrupted', `run interrupted: stopped after ${finished.size} of ${manifest.units} units`);
          journal.append({ type: 'unit_done', index });
          finished.add(index);
          slept += 1;
          options.report?.({ kind: 'unit', index, unitsDone: finished.size, unitsTotal: manifest.units });
        }
      } finally {
        unsubscribe?.();
      }
      journal.append({ type: 'run_completed', units: manifest.units });
      return { runDir, status: 'done', units: manifest.units, unitsThisSession: slept };
    } catch (error) {
      if (error instanceof HeadroomError && error.kind === 'interrupted') journal.append({ type: 'run_interrupted', reason: error.message });
      throw error;
    } finally {
      journal.close();
      lock.release();
    }
  },
  status(runDirArg) {
    const runDir = resolve(runDirArg);
    const manifest = readKindManifest(runDir, Manifest, FORMAT);
    const { records } = readJournal(runFiles(runDir).journal, Records);
    const owner = liveOwner(runFiles(runDir).lock);
    const lifecycle = replayLifecycle(records, owner !== undefined);
    return { runDir, kind: KIND, ...lifecycle, unitsDone: done(records).size, unitsTotal: manifest.units, owner: owner ?? null, device: null, unitMs: manifest.unitMs };
  },
  infoFields: (status) => ({ unitMs: status.unitMs }),
  onEvent: (info, event) => (event.kind === 'unit' ? { ...info, unitsDone: event.unitsDone, unitsTotal: event.unitsTotal } : undefined),
  statusLines: (status) => [`units    ${status.unitsDone}/${status.unitsTotal} (${status.unitMs} ms each)`],
  reporter: ({ stderr }) => ({
    progress: (event) => {
      if (event.kind === 'unit') stderr.write(`unit ${event.unitsDone}/${event.unitsTotal}\n`);
    },
    summary: (summary) => stderr.write(`done: ${summary.units} units, ${summary.unitsThisSession} this session\n`),
    close: () => undefined,
  }),
  addCommands(program, cli) {
    program
      .command('toy')
      .description('sleep through N units, journaling each (a test kind)')
      .requiredOption('--out <dir>', 'run folder to create')
      .requiredOption('--units <n>', 'units of work', Number)
      .option('--unit-ms <n>', 'milliseconds per unit', Number)
      .option('--json', 'one JSON object per line on stdout', false)
      .action(async (flags: { out: string; units: number; unitMs?: number; json: boolean }) => {
        const runDir = resolve(flags.out);
        cli.setRunDir(runDir);
        await job.create(Request.parse({ units: flags.units, unitMs: flags.unitMs }), runDir, {});
        await cli.runToEnd(runDir, 'start', { json: flags.json, verbose: false });
      });
  },
};
