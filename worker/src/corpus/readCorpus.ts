/**
 * Reads a corpus (.txt, .jsonl, .csv) into ids and texts, in input order,
 * streaming (the event loop stays free) and hashing as it reads. Every problem
 * names the file and the line (and the field); nothing is half-read. Fields are
 * looked up as own properties or by column index, never through a prototype.
 */
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse as csvParser } from 'csv-parse';
import { HeadroomError } from '../errors.js';
import { CorpusBuilder, notText } from './ids.js';
import { badInput, inputChunks, MAX_INPUT_BYTES, openInput, type InputFile, type ReadDigest } from './inputFile.js';
import { memberSource } from './jsonSource.js';
import { lineBatches, MAX_LINE_BYTES, type LineBatch } from './lines.js';

export { MAX_INPUT_BYTES } from './inputFile.js';

export interface Corpus {
  ids: string[];
  texts: string[];
}

export interface CorpusRead extends Corpus {
  /** The input as read: its sha256 and size, for run.json and the check on resume. */
  input: ReadDigest;
}

export interface CorpusOptions {
  textField: string;
  idField: string;
}

export interface ReadOptions {
  maxBytes?: number;
  /** The input a run was created from: anything else is refused as changed. */
  expect?: ReadDigest;
  /** False: check every text but keep none (the texts come back empty). */
  keepTexts?: boolean;
}

export const CORPUS_FORMATS = ['.txt', '.jsonl', '.csv'] as const;

/**
 * A record without the field a run reads (the text field, the id field): the message
 * names the flag; `where` and `detail` let a form word it with its own field names.
 */
export class CorpusFieldError extends HeadroomError {
  constructor(
    readonly field: 'textField' | 'idField',
    readonly where: string,
    readonly detail: string,
    message: string,
  ) {
    super('bad_input', message);
  }
}

const fieldError = (file: string, where: string, field: CorpusFieldError['field'], detail: string, hint: string): CorpusFieldError =>
  new CorpusFieldError(field, where, detail, badInput(file, where, `${detail}${hint}`).message);

type Format = (typeof CORPUS_FORMATS)[number];

async function readTxt(batches: AsyncIterable<LineBatch>, out: CorpusBuilder): Promise<void> {
  for await (const { first, lines } of batches) {
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() !== '') out.add(String(first + i), line, first + i);
    });
  }
}

function jsonId(file: string, lineNo: number, raw: string, field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number') {
    const source = memberSource(raw, field); // as written, not as a double
    if (source === undefined) throw new HeadroomError('internal', `${file} line ${lineNo}: the source text of field "${field}" was not found`);
    return source;
  }
  throw fieldError(file, `line ${lineNo}`, 'idField', `field "${field}" must be a non-empty string or a number`, '');
}

function jsonRecord(file: string, lineNo: number, raw: string, options: CorpusOptions, out: CorpusBuilder): void {
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch (error) {
    throw badInput(file, `line ${lineNo}`, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw badInput(file, `line ${lineNo}`, 'expected a JSON object');
  }
  const own = (name: string): unknown => (Object.hasOwn(record, name) ? (record as Record<string, unknown>)[name] : undefined);
  const text = own(options.textField);
  if (typeof text !== 'string') {
    const why = text === undefined ? 'has no field' : 'has a non-string field';
    throw fieldError(file, `line ${lineNo}`, 'textField', `${why} "${options.textField}"`, ' (set --text-field)');
  }
  const broken = notText(text);
  if (broken) throw badInput(file, `line ${lineNo}`, `field "${options.textField}" ${broken}`);
  const id = jsonId(file, lineNo, raw, options.idField, own(options.idField));
  out.add(id ?? String(lineNo), text, lineNo);
}

async function readJsonl(file: string, batches: AsyncIterable<LineBatch>, options: CorpusOptions, out: CorpusBuilder): Promise<void> {
  for await (const { first, lines } of batches) {
    lines.forEach((raw, i) => {
      if (raw.trim() !== '') jsonRecord(file, first + i, raw, options, out);
    });
  }
}

interface CsvRow {
  record: string[];
  info: { lines: number };
}

/** The header names the columns; a column is found by its index, so no name reaches a prototype. */
function csvColumns(file: string, header: CsvRow, options: CorpusOptions): { text: number; id: number } {
  const names = header.record;
  const column = (name: string): number => {
    const index = names.indexOf(name);
    if (index !== -1 && names.indexOf(name, index + 1) !== -1) throw badInput(file, `line ${header.info.lines}`, `has two columns named "${name}"`);
    return index;
  };
  const text = column(options.textField);
  if (text === -1) {
    throw fieldError(file, `line ${header.info.lines}`, 'textField', `has no column "${options.textField}"`, ` (columns: ${names.join(', ')}; set --text-field)`);
  }
  return { text, id: column(options.idField) };
}

async function readCsv(file: string, batches: AsyncIterable<LineBatch>, options: CorpusOptions, out: CorpusBuilder): Promise<void> {
  async function* text(): AsyncGenerator<string> {
    for await (const { lines } of batches) yield `${lines.join('\n')}\n`;
  }
  let columns: { text: number; id: number } | undefined;
  let rowNo = 0;
  const rows = async (source: AsyncIterable<CsvRow>): Promise<void> => {
    for await (const row of source) {
      if (!columns) {
        columns = csvColumns(file, row, options);
        continue;
      }
      rowNo += 1;
      const line = row.info.lines;
      const id = columns.id === -1 ? String(rowNo) : row.record[columns.id]!;
      if (columns.id !== -1 && id.length === 0) throw fieldError(file, `line ${line}`, 'idField', `column "${options.idField}" is empty`, '');
      out.add(id, row.record[columns.text]!, line);
    }
  };
  const parser = csvParser({ info: true, skip_empty_lines: true, max_record_size: MAX_LINE_BYTES });
  try {
    await pipeline(text, parser, rows);
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw badInput(file, '', `not valid CSV (${(error as Error).message})`);
  }
}

function formatOf(file: string): Format {
  const format = extname(file).toLowerCase();
  if (!(CORPUS_FORMATS as readonly string[]).includes(format)) {
    throw badInput(file, '', `unsupported format "${format || '(none)'}"; use ${CORPUS_FORMATS.join(', ')}`);
  }
  return format as Format;
}

/** The file's sha256 read afresh, or undefined if it changes while read. */
async function sha256Of(file: string, input: InputFile): Promise<string | undefined> {
  const digest: Partial<ReadDigest> = {};
  try {
    for await (const chunk of inputChunks(file, input, digest)) void chunk;
  } catch {
    return undefined;
  }
  return digest.sha256;
}

/** Reads and checks a whole corpus; throws a bad_input HeadroomError naming what is wrong. */
export async function readCorpus(file: string, options: CorpusOptions, read: ReadOptions = {}): Promise<CorpusRead> {
  const input = await openInput(file, read.maxBytes ?? MAX_INPUT_BYTES); // first: say what a path that is no file is
  const { expect } = read;
  const changed = (): Error => badInput(file, '', 'changed since the run was created; restore it or start a new run');
  try {
    const format = formatOf(file);
    if (expect && input.size !== expect.bytes) throw changed();
    const digest: Partial<ReadDigest> = {};
    const chunks = inputChunks(file, input, digest);
    const out = new CorpusBuilder(file, read.keepTexts ?? true);
    try {
      const batches = lineBatches(file, chunks);
      if (format === '.txt') await readTxt(batches, out);
      else if (format === '.jsonl') await readJsonl(file, batches, options, out);
      else await readCsv(file, batches, options, out);
    } catch (error) {
      // A bad line in a file that changed since the run began: say it changed, the clearer fix.
      if (expect && (await sha256Of(file, input)) !== expect.sha256) throw changed();
      throw error;
    }
    if (expect && digest.sha256 !== expect.sha256) throw changed();
    if (out.ids.length === 0) throw badInput(file, '', 'holds no documents');
    return { ids: out.ids, texts: out.texts, input: { sha256: digest.sha256!, bytes: digest.bytes! } };
  } finally {
    await input.handle.close();
  }
}
