/** Shared pieces for integration tests: the real CLI, real corpora on disk, real workers. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { inject } from 'vitest';
import { parseNpyMatrix } from '../src/jobs/embed/chunks/npy.js';
import type { EmbedOptions } from '../src/jobs/embed/embedRun.js';
import { REPO_ROOT } from '../src/runtimePaths.js';
import { readJournal } from '../src/runs/journal.js';
import { JournalRecord } from '../src/jobs/embed/records.js';

export const CLI = join(REPO_ROOT, 'bin', 'headroom.mjs');

export const tinyModel = (): string => inject('tinyModel');

/** The options `headroom embed` gives a run of the tiny model on the CPU, with the test's own changes. */
export function embedOptions(overrides: Partial<EmbedOptions> = {}): EmbedOptions {
  return {
    models: [{ model: tinyModel(), key: 'm', weight: 1, device: 'cpu' }],
    ensembleMode: 'simultaneous',
    aggregate: 'concat',
    chunkSize: 10,
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
    workers: null,
    vramWarning: 0.85,
    vramCritical: 0.95,
    onCritical: 'shrink',
    ...overrides,
  };
}

export const tempDir = (prefix = 'headroom-test-'): string => mkdtempSync(join(tmpdir(), prefix));

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Learned budgets go to a cache of this test process's own, never the user's. */
const testCacheDir = mkdtempSync(join(tmpdir(), 'headroom-cache-'));

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ResultPromise<{ reject: false; env: NodeJS.ProcessEnv }> {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { ...process.env, HEADROOM_CACHE_DIR: testCacheDir, ...env },
  });
}

export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await startCli(args, env);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A deterministic corpus of varied lengths (a long tail), written as .jsonl. */
export function makeCorpus(dir: string, count: number, name = 'corpus.jsonl'): string {
  const words = 'the model reads a chunk of text and writes its embedding to disk before the next one'.split(' ');
  const random = seededRandom(12345);
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const length = 1 + Math.floor(random() ** 3 * 90); // mostly short, a few long
    const text = Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(' ');
    lines.push(JSON.stringify({ id: `doc-${i}`, text }));
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array;
}

export function readMatrix(path: string): Matrix {
  const buffer = readFileSync(path);
  const header = parseNpyMatrix(buffer);
  if (typeof header === 'string') throw new Error(`${path}: ${header}`);
  const data = buffer.subarray(header.dataOffset);
  const values = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  return { rows: header.rows, cols: header.cols, values };
}

export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.values.length; i += 1) worst = Math.max(worst, Math.abs(a.values[i]! - b.values[i]!));
  return worst;
}

export const records = (runDir: string): JournalRecord[] => readJournal(join(runDir, 'journal.jsonl'), JournalRecord).records;

export const ofType = <T extends JournalRecord['type']>(list: JournalRecord[], type: T): Extract<JournalRecord, { type: T }>[] =>
  list.filter((record): record is Extract<JournalRecord, { type: T }> => record.type === type);

/** Polls until `check` holds; no fixed sleeps. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Sends `signal` unless the process is gone already (ESRCH): a kill timed by a test may meet a process
 * that just ended on its own (its work done, or its parent's death signal); true if it was sent.
 */
export function killIfAlive(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** A fixed batch of 4 unless `extra` names another --batch-size (the last flag wins). */
export function embedArgs(input: string, out: string, extra: string[] = [], model = tinyModel()): string[] {
  return ['embed', input, '--out', out, '--model', model, '--device', 'cpu', '--batch-size', '4', ...extra];
}

/** Direct children of a process (the CLI's Python worker), from /proc. */
export function childPids(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** The CLI's Python runtime (the worker), not a short-lived helper such as the model fingerprint at creation. */
export function runtimePid(cliPid: number): number | undefined {
  return childPids(cliPid).find((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args.includes('headroom_runtime');
    } catch {
      return false;
    }
  });
}

/** A seeded random source, so a failing sequence of kills can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
