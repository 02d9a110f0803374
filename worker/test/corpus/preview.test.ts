/** The New run form's preview of an input: real files on disk, the head only, every refusal named. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/contract/api.js';
import { COUNT_MAX_BYTES, HEAD_MAX_BYTES, previewCorpus, previewInput, PREVIEW_RECORDS, VALUE_CHARS } from '../../src/corpus/preview.js';
import { HeadroomError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'headroom-preview-'));
let serial = 0;
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, `${(serial += 1)}-${name}`);
  writeFileSync(path, content);
  return path;
};
const jsonl = (records: object[]): string => `${records.map((record) => JSON.stringify(record)).join('\n')}\n`;

async function refusal(path: string): Promise<HeadroomError> {
  try {
    await previewCorpus(path);
  } catch (error) {
    if (error instanceof HeadroomError) return error;
    throw error;
  }
  throw new Error(`expected ${path} to be refused`);
}

/** Bytes this process has read through system calls so far (Linux). */
const bytesRead = (): number => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

describe('previewCorpus', () => {
  it('.jsonl: the fields in the order first seen, which hold text, the first records cut short and masked, the exact row count', async () => {
    const token = `hf_${'a1B2c3D4e5'.repeat(4)}`;
    const records = Array.from({ length: 8 }, (_, i) => ({ id: i, body: i === 0 ? 'x'.repeat(500) : `doc ${i}`, ...(i === 2 ? { note: `key ${token}` } : {}) }));
    const preview = await previewCorpus(file('a.jsonl', jsonl(records)));
    expect(preview).toMatchObject({ format: 'jsonl', fields: ['id', 'body', 'note'], textFields: ['body', 'note'], rows: 8, rowsEstimate: null, problem: null });
    expect(preview.records).toHaveLength(PREVIEW_RECORDS);
    expect(preview.records[1]).toEqual({ id: '1', body: 'doc 1' });
    expect(preview.records[0]!.body).toBe(`${'x'.repeat(VALUE_CHARS)}…`);
    expect(preview.records[2]!.note).toBe('key hf_***');
    expect(JSON.stringify(preview)).not.toContain(token);
  });

  it('.csv: the header is the fields, a quoted newline stays inside its value, a BOM is not part of the first column', async () => {
    const preview = await previewCorpus(file('b.csv', '\ufeffuid,content\n1,"two\nlines"\n2,plain\n'));
    expect(preview).toMatchObject({ format: 'csv', fields: ['uid', 'content'], textFields: ['uid', 'content'], rows: 2, problem: null });
    expect(preview.records).toEqual([
      { uid: '1', content: 'two lines' },
      { uid: '2', content: 'plain' },
    ]);
  });

  it('.jsonl with a BOM: the first field is named without it', async () => {
    const preview = await previewCorpus(file('bom.jsonl', `\ufeff${jsonl([{ text: 'a' }])}`));
    expect(preview.fields).toEqual(['text']);
  });

  it('.txt: each line is a record with its text, blank lines skipped', async () => {
    const preview = await previewCorpus(file('c.txt', 'one\r\n\ntwo\n'));
    expect(preview).toMatchObject({ format: 'txt', fields: [], records: [{ text: 'one' }, { text: 'two' }], rows: 2 });
  });

  it('a bad line: the records before it are shown and the problem names its line; no row count', async () => {
    const preview = await previewCorpus(file('bad.jsonl', '{"text":"a"}\n{"text":"b"}\n{"text": nope}\n{"text":"d"}\n'));
    expect(preview.records).toEqual([{ text: 'a' }, { text: 'b' }]);
    expect(preview.problem).toMatch(/^line 3: not valid JSON/);
    expect(preview.rows).toBeNull();
  });

  it('an array where a record should be, and bad UTF-8, are named by their line', async () => {
    expect((await previewCorpus(file('arr.jsonl', '{"text":"a"}\n[1]\n'))).problem).toBe('line 2: expected a JSON object');
    const bytes = Buffer.concat([Buffer.from('{"text":"a"}\n{"text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    const preview = await previewCorpus(file('utf.jsonl', bytes));
    expect(preview.problem).toBe('line 2 is not valid UTF-8 text');
    expect(preview.records).toEqual([{ text: 'a' }]);
  });

  it('a file of a few MiB: its rows are counted exactly (newlines, not parsed)', async () => {
    const records = Array.from({ length: 40_000 }, (_, i) => ({ id: `d${i}`, text: `document number ${i} with some words` }));
    const path = file('mid.jsonl', `${jsonl(records)}\n\n`);
    const preview = await previewCorpus(path);
    expect(preview.bytes).toBeGreaterThan(HEAD_MAX_BYTES);
    expect(preview.rows).toBe(40_000);
  });

  it('a huge file is read by its head only: fields and records at once, an estimate for the rows', async () => {
    const head = jsonl(Array.from({ length: 20 }, (_, i) => ({ id: i, text: `document ${i}` })));
    const path = file('huge.jsonl', head);
    truncateSync(path, 1.5 * 1024 ** 3); // sparse: 1.5 GiB on paper, nothing on disk
    const before = bytesRead();
    const started = performance.now();
    const preview = await previewCorpus(path);
    const ms = performance.now() - started;
    const read = bytesRead() - before;
    expect(preview.bytes).toBeGreaterThan(COUNT_MAX_BYTES);
    expect(preview).toMatchObject({ fields: ['id', 'text'], rows: null, problem: null });
    expect(preview.records).toHaveLength(PREVIEW_RECORDS);
    expect(preview.rowsEstimate).toBeGreaterThan(1000);
    expect(read).toBeLessThan(4 * HEAD_MAX_BYTES);
    expect(ms).toBeLessThan(2000);
  });

  it('a first record longer than the head: nothing shown, and why', async () => {
    const preview = await previewCorpus(file('long.jsonl', `${JSON.stringify({ text: 'y'.repeat(HEAD_MAX_BYTES + 10) })}\n`));
    expect(preview.records).toEqual([]);
    expect(preview.problem).toMatch(/first record is longer than 1 MiB/);
  });

  it('a FIFO is refused at once, never waited on; so are a folder, a missing file and another format', async () => {
    const fifo = join(dir, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    expect((await refusal(fifo)).message).toMatch(/pipe\.jsonl: is a FIFO \(named pipe\), not a regular file/);
    expect(performance.now() - started).toBeLessThan(1000);
    const folder = join(dir, 'folder.jsonl');
    mkdirSync(folder);
    expect((await refusal(folder)).message).toMatch(/folder\.jsonl: is a folder, not a regular file/);
    expect((await refusal(join(dir, 'missing.csv'))).message).toMatch(/missing\.csv: input file not found/);
    expect((await refusal(file('x.parquet', 'PAR1'))).message).toMatch(/unsupported format "\.parquet"; use \.txt, \.jsonl, \.csv/);
  });

  it('the panel call answers bad_input, named, for a file no run could read', async () => {
    await expect(previewInput({ path: join(dir, 'nope.jsonl') })).rejects.toSatisfy((error) => error instanceof ApiError && error.code === 'bad_input' && /nope\.jsonl: input file not found/.test(error.message));
  });
});
