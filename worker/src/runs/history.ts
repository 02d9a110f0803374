/**
 * history.jsonl: what a run showed while it worked (memory, batches, chunks,
 * OOMs, passes, pauses, sessions...), kept next to its journal so the panel can
 * draw any run from disk. The journal is the truth a resume trusts; the history
 * is for people, so it is bounded instead of complete:
 *
 * - Marks (every event that is not a sample: an OOM, a pass, a pause, a session's
 *   start and end) are written as they come, the oldest thinned past MARKS_MAX.
 * - Samples (the high-rate events each kind names: memory, batches, chunks) are
 *   kept per time bucket as the events holding each value's minimum and maximum,
 *   so a spike never vanishes (as the charts draw them). A sample that names its
 *   worker (CommonEvent's `worker`) keeps its extremes per worker, so each
 *   worker's line and last figures survive the thinning. When the buckets pass
 *   twice BUCKETS_MAX (shared out among the workers), buckets double in width and
 *   the file is rewritten (tmp + rename), so a day-long run of a million
 *   documents stays a few MB, with any number of workers.
 *
 * Lines are appended without fsync (a lost last bucket costs a second of chart);
 * a torn or damaged line is skipped on read and cut before the next append.
 * Every event gets a sequence number, increasing across sessions: the panel
 * rebuilds a run from its history, then applies live events past its last one.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { redactDeep } from '../redact.js';

export const HISTORY_FILE = 'history.jsonl';
export const historyPath = (runDir: string): string => join(runDir, HISTORY_FILE);

/** Far above a bounded history (a few MB): a bigger file is not one this code wrote; it is not read (the writer moves it aside). */
const MAX_READ_BYTES = 16 * 1024 * 1024;
/** Far above any real run's event count: a larger sequence number is damage, not history. */
const MAX_SEQ = 2 ** 40;

export interface HistoryLimits {
  /** Sample buckets kept: between this and twice this, whatever the run's length (divided among the workers the samples name). */
  bucketsMax: number;
  /** Marks kept: past this, the middle ones are dropped (the first and the latest stay). */
  marksMax: number;
  /** The finest bucket: samples closer than this are thinned to their min/max. */
  bucketMsMin: number;
}

export const DEFAULT_LIMITS: HistoryLimits = { bucketsMax: 1000, marksMax: 4000, bucketMsMin: 1000 };

/** Which events of a kind are samples, and the values of each that a chart draws (null: none in this event). */
export type SampleValues = Record<string, (event: Record<string, unknown>) => (number | null)[]>;

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Every kind's memory events are samples (CommonEvent). */
export const COMMON_SAMPLES: SampleValues = { memory: (event) => [numberOrNull(event.allocated)] };

const Event = z.object({ kind: z.string() }).loose();
export const HistoryEntry = z.object({ seq: z.number().int().nonnegative(), at: z.number(), event: Event });
export type HistoryEntry = z.infer<typeof HistoryEntry>;
/** Events recorded per kind of event (samples thinned away included), as of the line. */
const Tally = z.object({ tally: z.record(z.string(), z.number().int().nonnegative()), seq: z.number().int().nonnegative().max(MAX_SEQ), bucketMs: z.number().positive() });
type Tally = z.infer<typeof Tally>;

export interface History {
  events: HistoryEntry[];
  /** Every event recorded, by kind (the thinned ones included): counts the charts cannot give. */
  counts: Record<string, number>;
  /** The last sequence number given; live events past it come after this history. */
  lastSeq: number;
  bucketMs: number;
  /** Lines that were not history lines (torn or damaged): skipped. */
  skipped: number;
  bytes: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** HistoryEntry's shape, checked by hand: a history holds thousands of lines, and zod per line is most of the reading time. */
function isEntry(value: unknown): value is HistoryEntry {
  if (!isRecord(value) || !isRecord(value.event)) return false;
  const { seq, at } = value;
  return Number.isSafeInteger(seq) && (seq as number) >= 0 && (seq as number) <= MAX_SEQ && typeof at === 'number' && Number.isFinite(at) && typeof value.event.kind === 'string';
}

/** Counts by event kind, with no prototype: a kind named "constructor" or "__proto__" is a count like any other. */
function countsFrom(from: Record<string, number> = {}): Record<string, number> {
  return Object.assign(Object.create(null) as Record<string, number>, from);
}

function bump(counts: Record<string, number>, kind: string): void {
  counts[kind] = (Object.hasOwn(counts, kind) ? counts[kind]! : 0) + 1;
}

/** Parses a history file's text; never throws: what is not a history line is counted and skipped. */
export function parseHistory(text: string): History {
  const events: HistoryEntry[] = [];
  let tally: Tally | null = null;
  let skipped = 0;
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) skipped += 1; // a torn last line
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped += 1;
      continue;
    }
    if (isEntry(value)) {
      events.push(value);
      continue;
    }
    const counted = Tally.safeParse(value);
    if (counted.success) tally = !tally || counted.data.seq >= tally.seq ? counted.data : tally;
    else skipped += 1;
  }
  events.sort((a, b) => a.seq - b.seq);
  const lastSeq = Math.max(tally?.seq ?? 0, events.at(-1)?.seq ?? 0);
  // Marks written after the last tally are not in it yet.
  const counts = countsFrom(tally?.tally);
  for (const entry of events) if (entry.seq > (tally?.seq ?? 0)) bump(counts, entry.event.kind);
  return { events, counts, lastSeq, bucketMs: tally?.bucketMs ?? DEFAULT_LIMITS.bucketMsMin, skipped, bytes: Buffer.byteLength(text) };
}

const EMPTY: History = { events: [], counts: {}, lastSeq: 0, bucketMs: DEFAULT_LIMITS.bucketMsMin, skipped: 0, bytes: 0 };

/** Opens only a regular file, without following a link or blocking on a FIFO. */
function openRegular(path: string): number | null {
  if (!existsSync(path)) return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    return null;
  }
  return fd;
}

/** A run's history, read without blocking the event loop; an absent or odd file is an empty history. */
export async function readHistory(runDir: string): Promise<History> {
  const path = historyPath(runDir);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return EMPTY;
  }
  try {
    const stat = await handle.stat();
    // Not a file this code wrote (a bounded history is a few MB): drawn as no history rather than parsed for seconds.
    if (!stat.isFile() || stat.size > MAX_READ_BYTES) return { ...EMPTY, skipped: stat.isFile() ? 1 : 0 };
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { ...parseHistory(buffer.subarray(0, bytesRead).toString('utf8')), bytes: bytesRead };
  } finally {
    await handle.close();
  }
}

/** What stands where the history goes, when it is not a history this code can read and append to. */
function oddHistory(path: string): string | null {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return null; // absent: a fresh history
  }
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (!stat.isFile()) return stat.isDirectory() ? 'a folder' : 'not a regular file';
  if (stat.size > MAX_READ_BYTES) return `${stat.size} bytes (a history is a few MB at most)`;
  return null;
}

function readHistorySync(path: string): History {
  const fd = openRegular(path);
  if (fd === null) return EMPTY;
  try {
    return parseHistory(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}

interface Bucket {
  index: number;
  /** Per "kind:value:min|max": the event holding it. */
  kept: Map<string, HistoryEntry>;
}

/** Workers whose samples keep extremes of their own; past these, a worker's samples share one series (a bound, whatever the events say). */
const WORKERS_MAX = 64;

/** Keeps, per sample kind, value and worker (`series`), the events holding the minimum and the maximum. */
function keepExtremes(kept: Map<string, HistoryEntry>, entry: HistoryEntry, values: SampleValues[string], series: string): void {
  values(entry.event).forEach((value, i) => {
    if (value === null) return;
    const key = `${entry.event.kind}:${i}:${series}`;
    const valueOf = (held: HistoryEntry): number => values(held.event)[i] ?? 0;
    const low = kept.get(`${key}:min`);
    const high = kept.get(`${key}:max`);
    if (!low || value < valueOf(low)) kept.set(`${key}:min`, entry);
    if (!high || value > valueOf(high)) kept.set(`${key}:max`, entry);
  });
}

/** What is written to disk has secrets masked, as everywhere. */
const masked = (entry: HistoryEntry): HistoryEntry => ({ ...entry, event: redactDeep(entry.event) as HistoryEntry['event'] });

/**
 * The one writer of a run's history: the process that holds the run's lock (the
 * CLI or the panel executing it). Give it every event the run reports.
 */
export class HistoryWriter {
  private readonly path: string;
  private readonly samples: SampleValues;
  private readonly limits: HistoryLimits;
  private opened = false;
  private seq = 0;
  private bucketMs: number;
  private counts: Record<string, number> = countsFrom();
  /** What the file holds: marks and flushed sample entries, in memory to rewrite it when it compacts. */
  private marks: HistoryEntry[] = [];
  private flushed: HistoryEntry[] = [];
  private flushedBuckets = new Set<number>();
  private current: Bucket | null = null;
  private dropped = false;
  /** The workers the samples named (each its own series): the buckets are shared out among them. */
  private workers = new Set<string>();

  constructor(runDir: string, samples: SampleValues, limits: Partial<HistoryLimits> = {}) {
    this.path = historyPath(runDir);
    this.samples = { ...COMMON_SAMPLES, ...samples };
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.bucketMs = this.limits.bucketMsMin;
  }

  /** Reads what earlier sessions wrote (to go on from their last sequence number) and cuts a torn tail. */
  private open(): void {
    this.opened = true;
    try {
      this.load();
    } catch (error) {
      this.warn(error);
    }
  }

  private load(): void {
    // A link, a FIFO, a folder or a huge file in its place is moved aside (never followed, opened or read) and the history starts afresh.
    const odd = oddHistory(this.path);
    if (odd) {
      const aside = `${this.path}.damaged-${Date.now()}`;
      renameSync(this.path, aside);
      process.stderr.write(`headroom: ${this.path} was ${odd}: moved it to ${aside}; the run's history starts afresh (the run itself is unaffected)\n`);
    }
    const before = readHistorySync(this.path);
    this.seq = before.lastSeq;
    this.counts = countsFrom(before.counts);
    this.bucketMs = Math.max(this.bucketMs, before.bucketMs);
    for (const entry of before.events) {
      if (Object.hasOwn(this.samples, entry.event.kind)) {
        this.seriesOf(entry.event); // the workers an earlier session heard from
        this.flushed.push(entry);
        this.flushedBuckets.add(Math.floor(entry.at / this.bucketMs));
      } else this.marks.push(entry);
    }
    if (before.skipped > 0) this.rewrite();
  }

  /** Records one event; returns its sequence number and time (what the panel sends live). */
  record<E extends { kind: string }>(event: E, at = Date.now()): HistoryEntry {
    if (!this.opened) this.open();
    this.seq += 1;
    const entry: HistoryEntry = { seq: this.seq, at, event: { ...event } };
    bump(this.counts, event.kind);
    const values = Object.hasOwn(this.samples, event.kind) ? this.samples[event.kind]!(entry.event) : null;
    if (values === null) {
      const written = masked(entry);
      this.marks.push(written);
      this.append([written]);
      if (this.marks.length > this.limits.marksMax * 1.25) this.compact();
      return entry;
    }
    const index = Math.floor(at / this.bucketMs);
    if (this.current && this.current.index !== index) this.flushBucket();
    this.current ??= { index, kept: new Map() };
    this.keep(this.current.kept, entry);
    return entry;
  }

  private keep(kept: Map<string, HistoryEntry>, entry: HistoryEntry): void {
    const values = this.samples[entry.event.kind];
    if (values) keepExtremes(kept, entry, values, this.seriesOf(entry.event));
  }

  /** A sample's series: its worker's, '' for one that names none (and for workers past WORKERS_MAX). */
  private seriesOf(event: HistoryEntry['event']): string {
    const { worker } = event;
    if (typeof worker !== 'string') return '';
    if (!this.workers.has(worker)) {
      if (this.workers.size >= WORKERS_MAX) return '';
      this.workers.add(worker);
    }
    return worker;
  }

  /** Buckets kept (between this and twice this): BUCKETS_MAX shared out among the workers, so the file's size does not grow with them. */
  private bucketsKept(): number {
    return Math.max(1, Math.floor(this.limits.bucketsMax / Math.max(1, this.workers.size)));
  }

  private flushBucket(): void {
    const bucket = this.current;
    this.current = null;
    if (!bucket) return;
    // Masked here, not per event: most samples are thinned away unwritten.
    const entries = [...new Set(bucket.kept.values())].sort((a, b) => a.seq - b.seq).map(masked);
    this.flushed.push(...entries);
    this.flushedBuckets.add(bucket.index);
    this.append([...entries, this.tally()]);
    if (this.flushedBuckets.size > this.bucketsKept() * 2) this.compact();
  }

  private tally(): Tally {
    return { tally: this.counts, seq: this.seq, bucketMs: this.bucketMs };
  }

  /** Wider buckets for the samples, fewer middle marks; then the file is rewritten whole. */
  private compact(): void {
    while (this.flushedBuckets.size > this.bucketsKept()) {
      this.bucketMs *= 2;
      const buckets = new Map<number, Map<string, HistoryEntry>>();
      for (const entry of this.flushed) {
        const index = Math.floor(entry.at / this.bucketMs);
        const kept = buckets.get(index) ?? new Map<string, HistoryEntry>();
        buckets.set(index, kept);
        this.keep(kept, entry);
      }
      this.flushed = [...buckets.values()].flatMap((kept) => [...new Set(kept.values())]).sort((a, b) => a.seq - b.seq);
      this.flushedBuckets = new Set(buckets.keys());
    }
    if (this.marks.length > this.limits.marksMax) {
      // The first marks say how the run began; the latest say where it stands: the middle goes.
      const head = Math.floor(this.limits.marksMax / 8);
      this.marks = [...this.marks.slice(0, head), ...this.marks.slice(this.marks.length - (this.limits.marksMax - head))];
    }
    this.rewrite();
  }

  private rewrite(): void {
    const lines = [...this.marks, ...this.flushed].sort((a, b) => a.seq - b.seq).map((entry) => JSON.stringify(entry));
    lines.push(JSON.stringify(this.tally()));
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      rmSync(tmp, { force: true });
      writeFileSync(tmp, `${lines.join('\n')}\n`, { flag: 'wx' }); // a fresh file: never through a link or into a FIFO planted there
      renameSync(tmp, this.path);
    } catch (error) {
      this.warn(error);
    }
  }

  private append(lines: object[]): void {
    try {
      // Non-blocking, no link followed, a regular file only: a FIFO planted here must never stall the run.
      const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
      try {
        if (!fstatSync(fd).isFile()) throw new Error('it is not a regular file');
        writeSync(fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      this.warn(error);
    }
  }

  /** A history that cannot be written never stops the run: said once. */
  private warn(error: unknown): void {
    if (this.dropped) return;
    this.dropped = true;
    process.stderr.write(`headroom: cannot write ${this.path} (the run goes on; its charts will miss this part): ${error instanceof Error ? error.message : String(error)}\n`);
  }

  /** The file's history plus the bucket not yet written: what a panel opening this run now should draw. */
  snapshot(): History {
    const pending = this.current ? [...new Set(this.current.kept.values())].map(masked) : [];
    const events = [...this.marks, ...this.flushed, ...pending].sort((a, b) => a.seq - b.seq);
    return { events, counts: { ...this.counts }, lastSeq: this.seq, bucketMs: this.bucketMs, skipped: 0, bytes: 0 };
  }

  /** Writes the last bucket (a session's end). */
  close(): void {
    if (this.opened) this.flushBucket();
  }
}
