/**
 * journal.jsonl: append-only, one JSON record per line, fsynced per append.
 * A torn last line (a crash mid-append) is trimmed before the next append, so
 * an append never glues onto half a record (Optuna's journal file flaw). A
 * damaged line elsewhere is refused, naming the file and line, until
 * `headroom repair` moves it aside (see repair.ts).
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { HeadroomError } from '../errors.js';
import { redactDeep } from '../redact.js';
import type { z } from 'zod';

/** What every journal line is, whatever the kind: a typed record with its time; each kind's schema says the rest. */
export interface BaseRecord {
  type: string;
  at: string;
}
export type RecordSchema<R extends BaseRecord> = z.ZodType<R>;
type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never;
/** A record as a caller appends it: the journal stamps `at`. */
export type NewRecord<R extends BaseRecord> = WithoutAt<R>;

export interface JournalContents<R extends BaseRecord = BaseRecord> {
  records: R[];
  /** Bytes of a torn last line, if any (not yet trimmed when read-only). */
  tornBytes: number;
}

export interface DamagedLine {
  /** 1-based line number in the journal. */
  line: number;
  /** The line as it was (without its newline). */
  text: string;
  reason: string;
}

export interface JournalScan<R extends BaseRecord = BaseRecord> extends JournalContents<R> {
  /** Each complete line with its record, or why it is not one. */
  lines: ({ line: number; text: string; record: R } | DamagedLine)[];
  /** The torn last line itself ('' when there is none). */
  torn: string;
}

/** Reads every line, keeping damaged ones apart instead of stopping at the first. */
export function scanJournal<R extends BaseRecord>(path: string, schema: RecordSchema<R>): JournalScan<R> {
  if (!existsSync(path)) return { records: [], tornBytes: 0, lines: [], torn: '' };
  const data = readFileSync(path);
  const end = data.lastIndexOf(0x0a) + 1;
  const lines = data
    .subarray(0, end)
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((line, i): JournalScan<R>['lines'][number] => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return { line: i + 1, text: line, reason: 'not valid JSON' };
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return { line: i + 1, text: line, reason: `not a journal record (${issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'unknown shape'})` };
      }
      return { line: i + 1, text: line, record: parsed.data };
    });
  const records = lines.flatMap((entry) => ('record' in entry ? [entry.record] : []));
  const torn = data.subarray(end);
  return { records, tornBytes: torn.length, lines, torn: torn.toString('utf8') };
}

export function readJournal<R extends BaseRecord>(path: string, schema: RecordSchema<R>): JournalContents<R> {
  const scan = scanJournal(path, schema);
  const damaged = scan.lines.filter((entry): entry is DamagedLine => !('record' in entry));
  if (damaged.length > 0) {
    const first = damaged[0]!;
    const others = damaged.length > 1 ? ` (and ${damaged.length - 1} more line(s))` : '';
    throw new HeadroomError(
      'bad_input',
      `${path} line ${first.line} is damaged: ${first.reason}${others}; run \`headroom repair ${dirname(path)}\` to move damaged lines aside ` +
        '(every valid record is kept; the chunks they described are recomputed on resume)',
    );
  }
  return { records: scan.records, tornBytes: scan.tornBytes };
}

export class Journal<R extends BaseRecord = BaseRecord> {
  private constructor(
    private readonly fd: number,
    private size: number,
    readonly records: R[],
    private readonly schema: RecordSchema<R>,
  ) {}

  /** Opens for appending (the caller holds the run's lock), trimming a torn tail. */
  static open<R extends BaseRecord>(path: string, schema: RecordSchema<R>): Journal<R> {
    const { records, tornBytes } = readJournal(path, schema);
    const fd = openSync(path, 'a+');
    let size = fstatSync(fd).size;
    if (tornBytes > 0) {
      size -= tornBytes;
      ftruncateSync(fd, size);
      fsyncSync(fd);
    }
    return new Journal(fd, size, records, schema);
  }

  append(record: NewRecord<R>): R {
    const full = this.schema.parse(redactDeep({ ...record, at: new Date().toISOString() }));
    const line = Buffer.from(`${JSON.stringify(full)}\n`, 'utf8');
    try {
      for (let written = 0; written < line.length; ) written += writeSync(this.fd, line, written);
      fsyncSync(this.fd);
    } catch (error) {
      // A short write (disk full) must not leave half a record for the next append to glue onto.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        /* the next open trims a torn tail anyway */
      }
      throw error;
    }
    this.size += line.length;
    this.records.push(full);
    return full;
  }

  close(): void {
    closeSync(this.fd);
  }
}
