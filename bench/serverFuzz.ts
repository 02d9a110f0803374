/**
 * Benchmark: the server fuzz beside a real embed run (issue 9). One `headroom
 * serve` process owns the runs; each run is started over its API and is left
 * alone (quiet), or runs with the fuzz of worker/test/server beside it: paced
 * (--rate answers per second in all) or as fast as it goes (max). Variants are
 * interleaved ABC CBA... so drift cancels. Reports each run's wall and work time
 * (from its journal) and, under fuzz, the requests and messages per second the
 * server answered.
 *
 *   npm run bench:fuzz -- [--reps 1] [--corpus FILE | --docs N] [--model M] [--device auto] [--rate 200]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { DEFAULT_MODEL, DEMO_CORPUS } from '../worker/src/jobs/embed/defaults.js';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';
import { readJournal } from '../worker/src/runs/journal.js';
import { JournalRecord } from '../worker/src/jobs/embed/records.js';
import { makeCorpus } from '../worker/test/helpers.js';
import { ApiClient, apiMessage, httpRequest, rawExchange, rawFrames, rawSocketSession, type Target } from '../worker/test/server/fuzzInputs.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '1' },
    corpus: { type: 'string' },
    /** A generated corpus of this many documents instead of the demo corpus. */
    docs: { type: 'string' },
    model: { type: 'string', default: DEFAULT_MODEL },
    device: { type: 'string', default: 'auto' },
    rate: { type: 'string', default: '200' },
  },
});

const scratch = mkdtempSync(join(tmpdir(), 'headroom-bench-fuzz-'));
const generated = (): string => makeCorpus(scratch, Number(values.docs ?? 1000), 'generated.jsonl');
const corpus = values.corpus ?? (values.docs === undefined && existsSync(DEMO_CORPUS) ? DEMO_CORPUS : generated());
const runsDir = join(scratch, 'runs');
type Variant = 'quiet' | 'paced' | 'max';

const server = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'headroom.mjs'), 'serve', '--port', '0', '--runs-dir', runsDir], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<URL>((resolve, reject) => {
  server.stdout.on('data', (data: Buffer) => {
    const line = String(data).split('\n').find((l) => l.startsWith('http://'));
    if (line) resolve(new URL(line.trim()));
  });
  server.once('exit', (code) => reject(new Error(`headroom serve exited with ${code}`)));
});
const target: Target = { port: Number(url.port), token: url.hash.replace('#token=', '') };
const control = await ApiClient.open(target);

interface Counts {
  requests: number;
  messages: number;
}

/** Sends generated requests, frames and messages until `stop`; at `rate` answers per second in all, or flat out (rate 0). */
async function fuzz(stop: () => boolean, rate: number, counts: Counts): Promise<void> {
  const workers = 4;
  const gap = rate > 0 ? (1000 * workers) / rate : 0;
  const paced = async (step: () => Promise<void>): Promise<void> => {
    while (!stop()) {
      const next = performance.now() + gap;
      await step();
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  const http = (): Promise<void> =>
    paced(async () => {
      const [bytes] = fc.sample(httpRequest(target), 1);
      await rawExchange(target.port, bytes!, { halfClose: true });
      counts.requests += 1;
    });
  const frames = (): Promise<void> =>
    paced(async () => {
      await rawSocketSession(target, fc.sample(rawFrames(), 1)[0]!, 20);
      counts.requests += 1; // a handshake answered, then its frames
    });
  const messages = async (): Promise<void> => {
    let client = await ApiClient.open(target);
    await paced(async () => {
      const [{ data, binary }] = fc.sample(apiMessage(), 1) as [{ data: string | Buffer; binary: boolean }];
      if (client.closed) client = await ApiClient.open(target);
      await client.send(data, binary);
      counts.messages += 1;
    });
    client.close();
  };
  await Promise.all([http(), frames(), messages(), messages()]);
}

async function status(runId: string): Promise<string> {
  const answer = await control.call('listRuns', {});
  return (answer.result as { runId: string; status: string }[]).find((run) => run.runId === runId)?.status ?? 'missing';
}

interface Timing {
  /** First journal record to run_completed: the run as the Engine saw it, worker start-up included. */
  wall: number;
  /** Model loaded (pass_started) to run_completed. */
  work: number;
  requestsPerSecond: number | null;
  messagesPerSecond: number | null;
}

async function once(variant: Variant): Promise<Timing> {
  const started = await control.call('startRun', { input: corpus, models: [{ model: values.model, device: values.device }] });
  if (!started.ok) throw new Error(`startRun: ${started.error?.message}`);
  const runId = (started.result as { runId: string }).runId;
  let done = false;
  const counts: Counts = { requests: 0, messages: 0 };
  const fuzzStarted = performance.now();
  const fuzzing = variant === 'quiet' ? Promise.resolve() : fuzz(() => done, variant === 'paced' ? Number(values.rate) : 0, counts);
  let state = await status(runId);
  while (state === 'running' || state === 'created') {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = await status(runId);
  }
  done = true;
  await fuzzing;
  const seconds = (performance.now() - fuzzStarted) / 1000;
  if (state !== 'done') throw new Error(`run ${runId} ended ${state}`);
  const { records } = readJournal(join(runsDir, runId, 'journal.jsonl'), JournalRecord);
  const at = (type: string): number => Date.parse(records.find((record) => record.type === type)!.at);
  const completed = at('run_completed');
  rmSync(join(runsDir, runId), { recursive: true, force: true });
  return {
    wall: (completed - Date.parse(records[0]!.at)) / 1000,
    work: (completed - at('pass_started')) / 1000,
    requestsPerSecond: variant === 'quiet' ? null : Math.round(counts.requests / seconds),
    messagesPerSecond: variant === 'quiet' ? null : Math.round(counts.messages / seconds),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const times: Record<Variant, Timing[]> = { quiet: [], paced: [], max: [] };
try {
  for (let rep = 0; rep < Number(values.reps); rep += 1) {
    for (const variant of ['quiet', 'paced', 'max', 'max', 'paced', 'quiet'] as const) {
      const timing = await once(variant);
      times[variant].push(timing);
      console.error(`rep ${rep} ${variant}: ${timing.wall.toFixed(2)} s wall, ${timing.work.toFixed(2)} s work, ${timing.requestsPerSecond ?? '-'} req/s, ${timing.messagesPerSecond ?? '-'} msg/s`);
    }
  }
} finally {
  control.close();
  server.kill('SIGTERM');
}

const round = (x: number): number => Number(x.toFixed(4));
const ratio = (variant: Variant, pick: (t: Timing) => number): number => round(median(times[variant].map((t, i) => pick(t) / pick(times.quiet[i]!))));
console.log(
  JSON.stringify(
    {
      bench: 'serverFuzz',
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
      corpus,
      model: values.model,
      device: values.device,
      rate: Number(values.rate),
      times,
      // each fuzzed run over the quiet run of its own round (ABC CBA: drift between rounds cancels)
      medianWallRatio: { paced: ratio('paced', (t) => t.wall), max: ratio('max', (t) => t.wall) },
      medianWorkRatio: { paced: ratio('paced', (t) => t.work), max: ratio('max', (t) => t.work) },
      medianRequestsPerSecond: { paced: median(times.paced.map((t) => t.requestsPerSecond!)), max: median(times.max.map((t) => t.requestsPerSecond!)) },
      medianMessagesPerSecond: { paced: median(times.paced.map((t) => t.messagesPerSecond!)), max: median(times.max.map((t) => t.messagesPerSecond!)) },
    },
    null,
    2,
  ),
);
rmSync(scratch, { recursive: true, force: true });
