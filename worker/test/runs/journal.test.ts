import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, readJournal } from '../../src/runs/journal.js';
import { JournalRecord } from '../../src/jobs/embed/records.js';

const temp = () => join(mkdtempSync(join(tmpdir(), 'journal-')), 'journal.jsonl');

describe('journal', () => {
  it('appends whole lines and replays them', () => {
    const path = temp();
    const journal = Journal.open(path, JournalRecord);
    journal.append({ type: 'run_created' });
    journal.append({ type: 'run_interrupted', reason: 'test' });
    journal.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(readJournal(path, JournalRecord).records.map((r) => r.type)).toEqual(['run_created', 'run_interrupted']);
  });

  it('trims a torn last line before the next append, so no record glues onto it', () => {
    const path = temp();
    const journal = Journal.open(path, JournalRecord);
    journal.append({ type: 'run_created' });
    journal.close();
    const torn = '{"type":"chunk_done","at":"2026-01-01T00:00:00Z","model":"m","ind';
    appendFileSync(path, torn);
    expect(readJournal(path, JournalRecord)).toMatchObject({ tornBytes: torn.length });
    const reopened = Journal.open(path, JournalRecord);
    expect(reopened.records).toHaveLength(1);
    reopened.append({ type: 'run_interrupted', reason: 'after a tear' });
    reopened.close();
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(readJournal(path, JournalRecord).records.map((r) => r.type)).toEqual(['run_created', 'run_interrupted']);
  });

  it('refuses a damaged line in the middle instead of guessing', () => {
    const path = temp();
    writeFileSync(path, '{"type":"run_created","at":"x"}\ngarbage\n{"type":"run_created","at":"y"}\n');
    expect(() => readJournal(path, JournalRecord)).toThrow(/line 2 is damaged: not valid JSON.*headroom repair/);
  });
});
