import { describe, expect, it } from 'vitest';
import { parseCorpus } from '../../src/corpus/readCorpus.js';
import { HeadroomError } from '../../src/errors.js';

const options = { textField: 'text', idField: 'id' };
const parse = (file: string, text: string) => parseCorpus(file, Buffer.from(text), options);

function failure(file: string, text: string): HeadroomError {
  try {
    parse(file, text);
  } catch (error) {
    if (error instanceof HeadroomError) return error;
    throw error;
  }
  throw new Error('expected a HeadroomError');
}

describe('readCorpus', () => {
  it('reads .txt with line numbers as ids, skipping blank lines', () => {
    expect(parse('a.txt', 'first\n\nthird\r\n')).toEqual({ ids: ['1', '3'], texts: ['first', 'third'] });
  });

  it('reads .jsonl ids and texts, numbering lines without an id', () => {
    const corpus = parse('a.jsonl', '{"id":"x","text":"one"}\n{"text":"two"}\n{"id":7,"text":"three"}\n');
    expect(corpus).toEqual({ ids: ['x', '2', '7'], texts: ['one', 'two', 'three'] });
  });

  it('reads .csv with named columns and quoted newlines', () => {
    const corpus = parse('a.csv', 'id,text,extra\na,"hello, ""world""",1\nb,"two\nlines",2\n');
    expect(corpus).toEqual({ ids: ['a', 'b'], texts: ['hello, "world"', 'two\nlines'] });
  });

  it('names the line of a malformed JSON line', () => {
    const error = failure('a.jsonl', '{"text":"ok"}\n{"text": oops}\n');
    expect(error.kind).toBe('bad_input');
    expect(error.message).toMatch(/a\.jsonl line 2: not valid JSON/);
  });

  it('names a missing text field and how to change it', () => {
    expect(failure('a.jsonl', '{"body":"x"}\n').message).toMatch(/line 1: has no field "text" \(set --text-field\)/);
    expect(failure('a.csv', 'id,body\n1,x\n').message).toMatch(/no column "text" \(columns: id, body/);
  });

  it('refuses duplicate ids, naming both lines', () => {
    expect(failure('a.jsonl', '{"id":"a","text":"x"}\n{"id":"b","text":"y"}\n{"id":"a","text":"z"}\n').message).toMatch(
      /line 3: duplicate id "a" \(first seen on line 1\)/,
    );
  });

  it('refuses empty files, unknown formats and bad UTF-8', () => {
    expect(failure('a.txt', '\n\n').message).toMatch(/holds no documents/);
    expect(failure('a.parquet', 'x').message).toMatch(/unsupported format ".parquet"/);
    expect(() => parseCorpus('a.txt', Buffer.from([0xff, 0xfe, 0x41]), options)).toThrow(/not valid UTF-8/);
  });

  it('refuses a JSON value that is not an object and a non-string text', () => {
    expect(failure('a.jsonl', '[1,2]\n').message).toMatch(/line 1: expected a JSON object/);
    expect(failure('a.jsonl', '{"text": 5}\n').message).toMatch(/non-string field "text"/);
  });
});
