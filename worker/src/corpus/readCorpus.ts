/**
 * Reads a corpus (.txt, .jsonl, .csv) into ids and texts, in input order.
 * Every problem names the file and the line; nothing is half-read.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { HeadroomError } from '../errors.js';

export interface Corpus {
  ids: string[];
  texts: string[];
}

export interface CorpusOptions {
  textField: string;
  idField: string;
}

export const CORPUS_FORMATS = ['.txt', '.jsonl', '.csv'] as const;

function bad(file: string, where: string, message: string): HeadroomError {
  return new HeadroomError('bad_input', `${file}${where ? ` ${where}` : ''}: ${message}`);
}

export function readInputBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw bad(file, '', 'input file not found');
    if (code === 'EISDIR') throw bad(file, '', 'is a folder, not a corpus file');
    throw bad(file, '', `cannot be read (${code ?? String(error)})`);
  }
}

function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw bad(file, '', 'is not valid UTF-8 text');
  }
}

class CorpusBuilder {
  readonly ids: string[] = [];
  readonly texts: string[] = [];
  private readonly seen = new Map<string, number>();

  constructor(private readonly file: string) {}

  add(id: string, text: string, line: number): void {
    if (/[\r\n]/.test(id)) throw bad(this.file, `line ${line}`, `id ${JSON.stringify(id)} contains a line break`);
    const first = this.seen.get(id);
    if (first !== undefined) {
      throw bad(this.file, `line ${line}`, `duplicate id ${JSON.stringify(id)} (first seen on line ${first})`);
    }
    this.seen.set(id, line);
    this.ids.push(id);
    this.texts.push(text);
  }
}

function idValue(file: string, line: number, field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw bad(file, `line ${line}`, `field "${field}" must be a non-empty string or a number`);
}

function readTxt(file: string, text: string, out: CorpusBuilder): void {
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() !== '') out.add(String(i + 1), line, i + 1);
  });
}

function readJsonl(file: string, text: string, options: CorpusOptions, out: CorpusBuilder): void {
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      throw bad(file, `line ${lineNo}`, `not valid JSON (${(error as Error).message})`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw bad(file, `line ${lineNo}`, 'expected a JSON object');
    }
    const fields = record as Record<string, unknown>;
    const value = fields[options.textField];
    if (typeof value !== 'string') {
      const why = value === undefined ? 'has no field' : 'has a non-string field';
      throw bad(file, `line ${lineNo}`, `${why} "${options.textField}" (set --text-field)`);
    }
    const id = idValue(file, lineNo, options.idField, fields[options.idField]);
    out.add(id ?? String(lineNo), value, lineNo);
  });
}

function readCsv(file: string, text: string, options: CorpusOptions, out: CorpusBuilder): void {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { columns: true, info: true, skip_empty_lines: true, bom: true });
  } catch (error) {
    throw bad(file, '', `not valid CSV (${(error as Error).message})`);
  }
  const first = rows[0];
  if (first && !(options.textField in first.record)) {
    const columns = Object.keys(first.record).join(', ');
    throw bad(file, 'line 1', `has no column "${options.textField}" (columns: ${columns}; set --text-field)`);
  }
  const hasIds = first !== undefined && options.idField in first.record;
  rows.forEach(({ record, info }, i) => {
    const id = hasIds ? idValue(file, info.lines, options.idField, record[options.idField]) : String(i + 1);
    out.add(id ?? String(i + 1), record[options.textField] ?? '', info.lines);
  });
}

export function parseCorpus(file: string, bytes: Buffer, options: CorpusOptions): Corpus {
  const format = extname(file).toLowerCase();
  if (!(CORPUS_FORMATS as readonly string[]).includes(format)) {
    throw bad(file, '', `unsupported format "${format || '(none)'}"; use ${CORPUS_FORMATS.join(', ')}`);
  }
  const text = decodeUtf8(file, bytes);
  const out = new CorpusBuilder(file);
  if (format === '.txt') readTxt(file, text, out);
  else if (format === '.jsonl') readJsonl(file, text, options, out);
  else readCsv(file, text, options, out);
  if (out.ids.length === 0) throw bad(file, '', 'holds no documents');
  return { ids: out.ids, texts: out.texts };
}
