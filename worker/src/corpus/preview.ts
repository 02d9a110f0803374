/**
 * The head of a corpus file, for the New run form: its format, the fields of its
 * first records and those records, shown cut short with secrets masked. Only the
 * head is read (at most HEAD_MAX_BYTES, more only to count the rows of a file of
 * modest size), through the same checks as a run's read (openInput: a regular
 * file, never a FIFO or a device), asynchronously: the event loop stays free.
 */
import { extname, resolve } from 'node:path';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { ApiError, type CallArgs, type CorpusPreview } from '../contract/api.js';
import { asHeadroomError } from '../errors.js';
import { redact } from '../redact.js';
import { badInput, openInput, type InputFile } from './inputFile.js';
import { CORPUS_FORMATS } from './readCorpus.js';

/** Records shown. */
export const PREVIEW_RECORDS = 5;
/** The head is read in steps until it holds the records shown, up to this much. */
const HEAD_STEP_BYTES = 64 * 1024;
export const HEAD_MAX_BYTES = 1024 * 1024;
/** Rows are counted (newlines, 1 MiB at a time) only in files up to this size; larger ones get an estimate. */
export const COUNT_MAX_BYTES = 64 * 1024 * 1024;
/** A value is shown up to this many characters. */
export const VALUE_CHARS = 160;

const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf];

type Format = CorpusPreview['format'];

/** A value as the form shows it: text as is, anything else as JSON; one line, cut short, secrets masked. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const line = text.replace(/\s+/g, ' ');
  return redact(line.length > VALUE_CHARS ? `${line.slice(0, VALUE_CHARS)}…` : line);
}

interface Head {
  /** Complete lines' text (the BOM dropped), or everything when the whole file was read. */
  text: string;
  whole: boolean;
  /** Bytes of the head the text stands for. */
  bytes: number;
}

/** Reads from the start until `enough` says the text suffices, or HEAD_MAX_BYTES; cuts at the last newline unless the file ended. */
async function readHead(input: InputFile, enough: (bytes: Buffer) => boolean): Promise<Head> {
  const limit = Math.min(input.size, HEAD_MAX_BYTES);
  const buffer = Buffer.alloc(limit);
  let length = 0;
  while (length < limit) {
    const { bytesRead } = await input.handle.read(buffer, length, Math.min(HEAD_STEP_BYTES, limit - length), length);
    if (bytesRead === 0) break;
    length += bytesRead;
    if (enough(buffer.subarray(0, length))) break;
  }
  const whole = length >= input.size;
  let bytes = whole ? length : buffer.lastIndexOf(NEWLINE, length - 1) + 1;
  let start = BOM.every((byte, i) => buffer[i] === byte) ? 3 : 0;
  if (bytes < start) start = bytes = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const raw = buffer.subarray(start, bytes);
  try {
    return { text: decoder.decode(raw), whole, bytes };
  } catch {
    // Keep the lines before the first one that is not UTF-8; say which it is.
    let from = 0;
    for (let line = 1; ; line += 1) {
      const end = raw.indexOf(NEWLINE, from);
      try {
        decoder.decode(raw.subarray(from, end === -1 ? raw.length : end));
      } catch {
        throw Object.assign(new Error(`line ${line} is not valid UTF-8 text`), { partial: { text: decoder.decode(raw.subarray(0, from)), whole: false, bytes: start + from } });
      }
      if (end === -1) throw new Error('is not valid UTF-8 text');
      from = end + 1;
    }
  }
}

const countNewlines = (bytes: Buffer): number => {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
};

/** Non-blank lines of a file up to COUNT_MAX_BYTES, read 1 MiB at a time (a blank line is two newlines in a row). */
async function countLines(input: InputFile): Promise<number> {
  const step = Buffer.alloc(1024 * 1024);
  let lines = 0;
  let previous = NEWLINE;
  for (let position = 0; position < input.size; ) {
    const { bytesRead } = await input.handle.read(step, 0, step.length, position);
    if (bytesRead === 0) break;
    const chunk = step.subarray(0, bytesRead);
    lines += countNewlines(chunk);
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) {
      if ((at === 0 ? previous : chunk[at - 1]) === NEWLINE) lines -= 1;
    }
    previous = chunk[bytesRead - 1]!;
    position += bytesRead;
  }
  return previous === NEWLINE ? lines : lines + 1;
}

interface Sample {
  fields: string[];
  textFields: string[];
  records: Record<string, string>[];
  /** Records in the head (all of them, not only those shown: a CSV's stop at the records shown), for the row count. */
  counted: number;
  problem: string | null;
}

function sampleJsonl(text: string, firstLine = 1): Sample {
  const fields: string[] = [];
  const notText = new Set<string>();
  const records: Record<string, string>[] = [];
  let counted = 0;
  let problem: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    counted += 1;
    if (records.length >= PREVIEW_RECORDS) continue;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      problem = `line ${firstLine + i}: not valid JSON (${(error as Error).message})`;
      break;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      problem = `line ${firstLine + i}: expected a JSON object`;
      break;
    }
    const row: Record<string, string> = {};
    for (const [name, value] of Object.entries(record)) {
      if (!fields.includes(name)) fields.push(name);
      if (typeof value !== 'string') notText.add(name);
      row[redact(name)] = shown(value);
    }
    records.push(row);
  }
  return { fields: fields.map((name) => redact(name)), textFields: fields.filter((name) => !notText.has(name)).map((name) => redact(name)), records, counted, problem };
}

function sampleCsv(text: string, whole: boolean): Sample {
  let rows: string[][] = [];
  let problem: string | null = null;
  const collect = (record: string[]): string[] => {
    rows.push(record);
    return record;
  };
  try {
    // `to` stops at the records shown; a head cut inside a quoted field only loses that record.
    parseCsv(text, { skip_empty_lines: true, relax_column_count: true, to: whole ? undefined : PREVIEW_RECORDS + 1, on_record: collect });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const cutShort = !whole && error.code === 'CSV_QUOTE_NOT_CLOSED';
    if (!cutShort) problem = `not valid CSV (${error.message})`;
  }
  const [header = [], ...body] = rows;
  rows = [];
  const duplicate = header.find((name, i) => header.indexOf(name) !== i);
  if (duplicate !== undefined && problem === null) problem = `line 1: has two columns named "${duplicate}"`;
  const fields = header.map((name) => redact(name));
  const records = body.slice(0, PREVIEW_RECORDS).map((record) => Object.fromEntries(fields.map((name, i) => [name, shown(record[i] ?? '')])));
  return { fields, textFields: fields, records, counted: body.length, problem };
}

function sampleTxt(text: string): Sample {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return { fields: [], textFields: [], records: lines.slice(0, PREVIEW_RECORDS).map((line) => ({ text: shown(line.replace(/\r$/, '')) })), counted: lines.length, problem: null };
}

/** The format a path's extension names, or a bad_input error naming what is supported. */
export function corpusFormat(file: string): Format {
  const ext = extname(file).toLowerCase();
  if (!(CORPUS_FORMATS as readonly string[]).includes(ext)) throw badInput(file, '', `unsupported format "${ext || '(none)'}"; use ${CORPUS_FORMATS.join(', ')}`);
  return ext.slice(1) as Format;
}

/** The file's head as the form shows it; a file no run could read (missing, a folder, a FIFO, another format) is a bad_input error. */
export async function previewCorpus(path: string): Promise<CorpusPreview> {
  const file = resolve(path);
  const input = await openInput(file);
  try {
    const format = corpusFormat(file);
    // Enough when the head holds a line past the records shown (+1 for a CSV header).
    const wanted = PREVIEW_RECORDS + (format === 'csv' ? 2 : 1);
    let head: Head;
    let problem: string | null = null;
    try {
      head = await readHead(input, (bytes) => countNewlines(bytes) >= wanted);
    } catch (error) {
      const partial = (error as { partial?: Head }).partial;
      if (!partial) throw badInput(file, '', (error as Error).message);
      head = partial;
      problem = (error as Error).message;
    }
    const sample = format === 'jsonl' ? sampleJsonl(head.text) : format === 'csv' ? sampleCsv(head.text, head.whole) : sampleTxt(head.text);
    problem = sample.problem ?? problem;
    if (head.bytes === 0 && !head.whole) problem ??= `the first record is longer than ${HEAD_MAX_BYTES / 1024 ** 2} MiB; nothing is shown`;
    let rows: number | null = null;
    if (head.whole && problem === null) rows = sample.counted;
    else if (format !== 'csv' && input.size <= COUNT_MAX_BYTES && problem === null) rows = await countLines(input); // a CSV's quoted newlines make lines no rows
    // About as many rows as the head's lines per byte say (a CSV's header line left out).
    const headLines = countNewlines(Buffer.from(head.text));
    const rowsEstimate = rows === null && head.bytes > 0 && headLines > 0 ? Math.max(0, Math.round((headLines * input.size) / head.bytes) - (format === 'csv' ? 1 : 0)) : null;
    return { path: redact(file), format, bytes: input.size, fields: sample.fields, textFields: sample.textFields, records: sample.records, rows, rowsEstimate, problem };
  } finally {
    await input.handle.close();
  }
}

/** The panel's previewInput call: a file no run could read is bad_input, named. */
export async function previewInput({ path }: CallArgs<'previewInput'>): Promise<CorpusPreview> {
  try {
    return await previewCorpus(path);
  } catch (error) {
    const failure = asHeadroomError(error);
    throw new ApiError(failure.kind === 'internal' ? 'internal' : 'bad_input', failure.message);
  }
}
