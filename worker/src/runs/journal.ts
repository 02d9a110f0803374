/**
 * journal.jsonl: append-only, one JSON record per line, fsynced per append.
 * A torn last line (a crash mid-append) is trimmed before the next append, so
 * an append never glues onto half a record (Optuna's journal file flaw).
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { HeadroomError } from '../errors.js';
import { redactDeep } from '../redact.js';
import { JournalRecord, type NewRecord } from './records.js';

export interface JournalContents {
  records: JournalRecord[];
  /** Bytes of a torn last line, if any (not yet trimmed when read-only). */
  tornBytes: number;
}

export function readJournal(path: string): JournalContents {
  if (!existsSync(path)) return { records: [], tornBytes: 0 };
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  const records = text
    .slice(0, end)
    .split('\n')
    .slice(0, -1)
    .map((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new HeadroomError('internal', `${path} line ${i + 1} is not valid JSON: the journal is damaged`);
      }
      const parsed = JournalRecord.safeParse(value);
      if (!parsed.success) {
        throw new HeadroomError('internal', `${path} line ${i + 1} is not a journal record: ${parsed.error.message}`);
      }
      return parsed.data;
    });
  return { records, tornBytes: Buffer.byteLength(text.slice(end)) };
}

export class Journal {
  private constructor(
    private readonly fd: number,
    readonly records: JournalRecord[],
  ) {}

  /** Opens for appending (the caller holds the run's lock), trimming a torn tail. */
  static open(path: string): Journal {
    const { records, tornBytes } = readJournal(path);
    const fd = openSync(path, 'a+');
    if (tornBytes > 0) {
      const size = readFileSync(path).length;
      ftruncateSync(fd, size - tornBytes);
      fsyncSync(fd);
    }
    return new Journal(fd, records);
  }

  append(record: NewRecord): JournalRecord {
    const full = JournalRecord.parse(redactDeep({ ...record, at: new Date().toISOString() }));
    writeSync(this.fd, `${JSON.stringify(full)}\n`);
    fsyncSync(this.fd);
    this.records.push(full);
    return full;
  }

  close(): void {
    closeSync(this.fd);
  }
}
