/**
 * How a session that threw is journaled (runs/lifecycle.ts journalFailure), the same for every kind:
 * an interruption is run_interrupted (resumable), anything else run_failed with its kind; the
 * lifecycle replay reads them back. Real journals of both built-in kinds, real files.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/errors.js';
import { JournalRecord as EmbedRecord } from '../../src/jobs/embed/records.js';
import { JournalRecord as TrialsRecord } from '../../src/jobs/trials/records.js';
import { Journal, readJournal } from '../../src/runs/journal.js';
import { journalFailure, replayLifecycle } from '../../src/runs/lifecycle.js';

const temp = (): string => join(mkdtempSync(join(tmpdir(), 'lifecycle-')), 'journal.jsonl');

/** Both built-in kinds' journals, opened and read back with their own schemas. */
const KINDS = [
  { kind: 'embed', open: (path: string) => Journal.open(path, EmbedRecord), read: (path: string) => readJournal(path, EmbedRecord).records },
  { kind: 'trials', open: (path: string) => Journal.open(path, TrialsRecord), read: (path: string) => readJournal(path, TrialsRecord).records },
];

describe('journalFailure', () => {
  it.each(KINDS)('$kind: an interruption is run_interrupted, any other error run_failed with its kind; the replay reads both', ({ open, read }) => {
    const path = temp();
    const journal = open(path);
    journalFailure(journal, new HeadroomError('interrupted', 'run interrupted: stopped by SIGTERM'));
    expect(replayLifecycle(journal.records, false)).toEqual({ status: 'interrupted', errors: [], lastInterruption: 'run interrupted: stopped by SIGTERM' });
    journalFailure(journal, new HeadroomError('bad_input', 'document "a" has no text'));
    journal.close();
    const records = read(path);
    expect(records.map((record) => record.type)).toEqual(['run_interrupted', 'run_failed']);
    expect(records[1]).toMatchObject({ kind: 'bad_input', message: 'document "a" has no text' });
    expect(replayLifecycle(records, false)).toMatchObject({ status: 'failed', errors: ['document "a" has no text'] });
  });

  it('never throws: no journal yet, or one that refuses the line (closed here, a full disk in life)', () => {
    expect(() => journalFailure(undefined, new HeadroomError('internal', 'before the journal opened'))).not.toThrow();
    const path = temp();
    const journal = Journal.open(path, EmbedRecord);
    journal.append({ type: 'run_created' });
    journal.close();
    expect(() => journal.append({ type: 'run_failed', kind: 'internal', message: 'x' })).toThrow(); // the refusal is real
    expect(() => journalFailure(journal, new HeadroomError('internal', 'after it closed'))).not.toThrow();
    expect(readJournal(path, EmbedRecord).records.map((record) => record.type)).toEqual(['run_created']);
  });
});
