import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as losslessParse, type LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputChunks, openInput } from '../../src/corpus/inputFile.js';
import { memberSource } from '../../src/corpus/jsonSource.js';
import { readCorpus, type CorpusOptions } from '../../src/corpus/readCorpus.js';
import { HeadroomError } from '../../src/errors.js';
import { REPO_ROOT } from '../../src/runtimePaths.js';

const options: CorpusOptions = { textField: 'text', idField: 'id' };
const dir = mkdtempSync(join(tmpdir(), 'headroom-corpus-'));
let serial = 0;

function file(name: string, content: string | Uint8Array): string {
  const sub = join(dir, String((serial += 1)));
  mkdirSync(sub);
  const path = join(sub, name);
  writeFileSync(path, content);
  return path;
}

const read = (name: string, content: string | Uint8Array, opts: CorpusOptions = options) => readCorpus(file(name, content), opts);

async function failure(promise: Promise<unknown>): Promise<HeadroomError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HeadroomError) return error;
    throw error;
  }
  throw new Error('expected a HeadroomError');
}

const fail = (name: string, content: string | Uint8Array, opts: CorpusOptions = options): Promise<HeadroomError> => failure(read(name, content, opts));

describe('readCorpus: formats', () => {
  it('reads .txt with line numbers as ids, skipping blank lines and a BOM', async () => {
    expect(await read('a.txt', '\ufefffirst\n\nthird\r\n')).toMatchObject({ ids: ['1', '3'], texts: ['first', 'third'] });
  });

  it('reads .jsonl ids and texts, numbering lines without an id', async () => {
    const corpus = await read('a.jsonl', '{"id":"x","text":"one"}\n{"text":"two"}\n{"id":7,"text":"three"}');
    expect(corpus).toMatchObject({ ids: ['x', '2', '7'], texts: ['one', 'two', 'three'] });
  });

  it('reads .csv with named columns and quoted newlines', async () => {
    const corpus = await read('a.csv', 'id,text,extra\na,"hello, ""world""",1\nb,"two\nlines",2\n');
    expect(corpus).toMatchObject({ ids: ['a', 'b'], texts: ['hello, "world"', 'two\nlines'] });
  });

  it('hashes what it read, as it streams', async () => {
    const content = `${Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ id: i, text: `doc ${i}` })).join('\n')}\n`;
    const corpus = await read('big.jsonl', content);
    const sha = execFileSync('sha256sum', [], { input: content }).toString().split(' ')[0];
    expect(corpus.input).toEqual({ sha256: sha, bytes: Buffer.byteLength(content) });
    expect(corpus.ids).toHaveLength(50_000);
  });

  it('can check every text and keep none (what creating a run needs)', async () => {
    const path = file('k.jsonl', '{"id":"a","text":"one"}\n{"id":"b","text":"two"}\n');
    expect(await readCorpus(path, options, { keepTexts: false })).toMatchObject({ ids: ['a', 'b'], texts: [] });
    writeFileSync(path, '{"id":"a","text":"one"}\n{"id":"b","text":"\\udc00"}\n');
    expect((await failure(readCorpus(path, options, { keepTexts: false }))).message).toMatch(/k\.jsonl line 2: field "text" holds a lone surrogate/);
  });

  it('names the line of a malformed JSON line, of bad UTF-8, and a missing field', async () => {
    expect((await fail('a.jsonl', '{"text":"ok"}\n{"text": oops}\n')).message).toMatch(/a\.jsonl line 2: not valid JSON/);
    expect((await fail('u.txt', Buffer.concat([Buffer.from('fine\nfine\n'), Buffer.from([0xff, 0xfe, 0x41])]))).message).toMatch(/u\.txt line 3: is not valid UTF-8/);
    expect((await fail('a.jsonl', '{"body":"x"}\n')).message).toMatch(/line 1: has no field "text" \(set --text-field\)/);
    expect((await fail('a.csv', 'id,body\n1,x\n')).message).toMatch(/line 1: has no column "text" \(columns: id, body/);
  });

  it('refuses duplicate ids naming both lines, empty files, unknown formats, non-objects', async () => {
    expect((await fail('a.jsonl', '{"id":"a","text":"x"}\n{"id":"b","text":"y"}\n{"id":"a","text":"z"}\n')).message).toMatch(/line 3: duplicate id "a" \(first seen on line 1\)/);
    expect((await fail('a.txt', '\n\n')).message).toMatch(/holds no documents/);
    expect((await fail('a.parquet', 'x')).message).toMatch(/unsupported format ".parquet"/);
    expect((await fail('a.jsonl', '[1,2]\n')).message).toMatch(/line 1: expected a JSON object/);
    expect((await fail('a.jsonl', '{"text": 5}\n')).message).toMatch(/non-string field "text"/);
    expect((await fail('a.csv', 'id,text\n1,a,extra\n')).message).toMatch(/not valid CSV/);
  });
});

describe('readCorpus: only regular files, never blocking', () => {
  let socketServer: Server;
  let socketPath: string;

  beforeAll(async () => {
    socketPath = join(dir, 'corpus.sock.jsonl');
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  });
  afterAll(() => socketServer.close());

  const fifo = (): string => {
    const path = join(dir, `fifo-${(serial += 1)}.jsonl`);
    execFileSync('mkfifo', [path]);
    return path;
  };
  const folder = (): string => {
    const path = join(dir, `folder-${(serial += 1)}.txt`);
    mkdirSync(path);
    return path;
  };
  const link = (target: string, name = `link-${(serial += 1)}.jsonl`): string => {
    const path = join(dir, name);
    symlinkSync(target, path);
    return path;
  };

  // A FIFO with no writer would block a synchronous read for ever: these return at once.
  const kinds: [string, () => string, RegExp][] = [
    ['a FIFO', fifo, /: is a FIFO \(named pipe\), not a regular file/],
    ['/dev/zero', () => '/dev/zero', /\/dev\/zero: is a character device, not a regular file/],
    ['/dev/null', () => '/dev/null', /is a character device/],
    ['a socket', () => socketPath, /: is a socket, not a regular file/],
    ['a folder', folder, /: is a folder, not a regular file/],
    ['a symlink to a FIFO', () => link(fifo()), /: is a symlink to a FIFO \(named pipe\) \(.*fifo-\d+\.jsonl\), not a regular file/],
    ['a symlink to /dev/zero', () => link('/dev/zero'), /: is a symlink to a character device \(\/dev\/zero\)/],
    ['a symlink to a socket', () => link(socketPath), /: is a symlink to a socket/],
    ['a symlink to a folder', () => link(folder()), /: is a symlink to a folder/],
    ['a dangling symlink', () => link(join(dir, 'gone.jsonl')), /: is a symlink to a missing file/],
    ['a symlink loop', () => link(join(dir, 'loop.jsonl'), 'loop.jsonl'), /: is a symlink loop/],
    ['a missing file', () => join(dir, 'missing.jsonl'), /missing\.jsonl: input file not found/],
    ['a path through a file', () => join(file('plain.txt', 'x'), 'below.txt'), /below\.txt: input file not found/],
  ];

  it.each(kinds)('%s is refused, naming what it is', async (_name, make, message) => {
    const error = await failure(readCorpus(make(), options));
    expect(error.kind).toBe('bad_input');
    expect(error.message).toMatch(message);
  });

  it('refuses an input over the size limit before reading it, and states the limit', async () => {
    const huge = file('huge.jsonl', '');
    truncateSync(huge, 3 * 1024 ** 3); // sparse: 3 GiB that take no disk
    expect((await failure(readCorpus(huge, options))).message).toMatch(/huge\.jsonl: is 3\.00 GiB, over the limit of 2\.00 GiB for one input; split it into several runs/);
    const small = file('small.txt', 'one\ntwo\n');
    expect((await failure(readCorpus(small, options, { maxBytes: 4 }))).message).toMatch(/small\.txt: is 8 bytes, over the limit of 4 bytes/);
  });

  it('refuses a file that grows while it is read, having read no more than its size at opening', async () => {
    const path = file('growing.txt', 'x\n'.repeat(3 * 1024 * 1024)); // 6 MiB: several chunks
    const input = await openInput(path);
    let read = 0;
    const consume = async (): Promise<void> => {
      for await (const chunk of inputChunks(path, input, {})) {
        if (read === 0) appendFileSync(path, 'more\n'.repeat(100_000));
        read += chunk.length;
      }
    };
    await expect(consume()).rejects.toThrow(/growing\.txt: changed while it was read \(6291456 bytes when opened, 6791456 now\); wait until it is written completely/);
    await input.handle.close();
    expect(read).toBe(6 * 1024 * 1024);
  });

  it('on resume, refuses an input that is not the one the run was created from', async () => {
    const path = file('resume.jsonl', '{"text":"a"}\n{"text":"b"}\n');
    const { input } = await readCorpus(path, options);
    expect((await readCorpus(path, options, { expect: input })).ids).toEqual(['1', '2']);
    writeFileSync(path, '{"text":"a"}\n{"text":"c"}\n');
    expect((await failure(readCorpus(path, options, { expect: input }))).message).toMatch(/resume\.jsonl: changed since the run was created/);
    writeFileSync(path, '{"text":"a"}\n{"text" oops}\n'); // the same size, now bad: the change is what to report
    expect((await failure(readCorpus(path, options, { expect: input }))).message).toMatch(/changed since the run was created/);
  });
});

/** Every character Python's str.splitlines() splits on. */
const LINE_BREAKS = ['\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029'];

const plainId = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((id) => !LINE_BREAKS.some((c) => id.includes(c)));

/** A JSON number as written: any size, with or without a fraction and an exponent. */
const numberSource = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.stringMatching(/^[0-9]{1,6}$/)), fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,3}$/)))
  .map(([negative, int, fraction, exponent]) => `${negative ? '-' : ''}${int}${fraction === null ? '' : `.${fraction}`}${exponent ?? ''}`);

interface GeneratedId {
  id: string;
  json: string;
}

const generatedId: fc.Arbitrary<GeneratedId> = fc.oneof(
  plainId.map((id) => ({ id, json: JSON.stringify(id) })),
  numberSource.map((source) => ({ id: source, json: source })),
);

const space = fc.constantFrom('', ' ', '\t', '  ');

/** A jsonl line with the id among other members, nested ids that must not be taken, and odd spacing. */
const jsonLine = (entry: GeneratedId, text: string): fc.Arbitrary<string> =>
  fc.tuple(space, space, fc.boolean(), fc.boolean(), fc.boolean()).map(([a, b, idFirst, nested, shadowed]) => {
    const members = [`"text"${a}:${b}${JSON.stringify(text)}`];
    if (nested) members.push(`"meta":{"id":12345678901234567890,"x":["}\\"",{"id":1e5}]}`);
    const id = `"id"${b}:${a}${entry.json}${a}`;
    if (idFirst) members.unshift(id);
    else members.push(id);
    if (shadowed) members.unshift('"id":"overwritten by the last member"');
    return `${a}{${members.join(`,${b}`)}}${b}`;
  });

const uniqueIds = fc.uniqueArray(generatedId, { selector: (entry) => entry.id, minLength: 1, maxLength: 25 });

describe('readCorpus: ids are kept exactly as written', () => {
  it('keeps numbers as their source text: 2^53 + 1, 1.0 and 1e2 are neither rounded nor merged', async () => {
    const corpus = await read('n.jsonl', '{"id":9007199254740993,"text":"a"}\n{"id":9007199254740992,"text":"b"}\n{"id":1.0,"text":"c"}\n{"id":1e2,"text":"d"}\n{"id":1,"text":"e"}\n{"id":-0,"text":"f"}\n');
    expect(corpus.ids).toEqual(['9007199254740993', '9007199254740992', '1.0', '1e2', '1', '-0']);
  });

  it('generated jsonl ids (strings of any code points, numbers of any size and form) come back exactly', async () => {
    const lines = uniqueIds.chain((entries) => fc.tuple(fc.constant(entries), fc.tuple(...entries.map((entry, i) => jsonLine(entry, `text ${i}`)))));
    await fc.assert(
      fc.asyncProperty(lines, async ([entries, rows]) => {
        const corpus = await read('gen.jsonl', `${rows.join('\n')}\n`);
        expect(corpus.ids).toEqual(entries.map((entry) => entry.id));
      }),
      { numRuns: 150 },
    );
  });

  it('generated CSV ids come back exactly', async () => {
    const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(plainId, { minLength: 1, maxLength: 25 }), fc.constantFrom('\n', '\r\n'), async (ids, eol) => {
        const corpus = await read('gen.csv', `text,id${eol}${ids.map((id, i) => `t${i},${quote(id)}`).join(eol)}${eol}`);
        expect(corpus.ids).toEqual(ids);
      }),
      { numRuns: 100 },
    );
  });

  it('the scanner finds the source text of a top-level member wherever it stands (lossless-json agrees)', () => {
    const key = fc.string({ maxLength: 6 }).filter((k) => k !== 'id');
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue(), { maxKeys: 5 }), numberSource, fc.nat(), fc.constantFrom(0, 2, '\t'), (others, source, at, indent) => {
        const entries = Object.entries(others);
        entries.splice(at % (entries.length + 1), 0, ['id', '@ID@']);
        const json = JSON.stringify(Object.fromEntries(entries), null, indent).replace('"@ID@"', source);
        expect(memberSource(json, 'id')).toBe(source);
        expect((losslessParse(json) as { id: LosslessNumber }).id.value).toBe(source);
      }),
      { numRuns: 300 },
    );
  });

  it('ids read back by Python splitlines() exactly as they were read', async () => {
    const samples = fc.sample(uniqueIds, 40).map((entries) => entries.map((entry) => entry.id));
    const paths = samples.map((ids, i) => file(`ids-${i}.txt`, `${ids.join('\n')}\n`)); // as assemble writes ids.txt
    const script = 'import json, sys\nprint(json.dumps([open(p, encoding="utf-8").read().splitlines() for p in sys.argv[1:]]))';
    const back = JSON.parse(execFileSync(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', script, ...paths]).toString()) as string[][];
    expect(back).toEqual(samples);
  });

  it('refuses an id that would not read back as one line, naming its line (generated)', async () => {
    const broken = fc.tuple(uniqueIds, fc.nat(), fc.constantFrom(...LINE_BREAKS), fc.nat()).map(([entries, which, char, at]) => {
      const k = which % entries.length;
      const plain = entries[k]!.id;
      const id = plain.slice(0, at % (plain.length + 1)) + char + plain.slice(at % (plain.length + 1));
      const rows = entries.map((entry, i) => (i === k ? { id, json: JSON.stringify(id) } : entry)).map((entry, i) => `{"id":${entry.json},"text":"t${i}"}`);
      return { rows, line: k + 1, char };
    });
    await fc.assert(
      fc.asyncProperty(broken, async ({ rows, line, char }) => {
        const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
        const error = await fail('broken.jsonl', `${rows.join('\n')}\n`);
        expect(error.message).toContain(`broken.jsonl line ${line}: id `);
        expect(error.message).toContain(`contains a line break (${code}), so it would not read back as one line of ids.txt`);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses such ids in CSV too, and empty ids', async () => {
    for (const char of LINE_BREAKS.filter((c) => c !== '\n' && c !== '\r')) {
      expect((await fail('b.csv', `id,text\nok,a\nbad${char}id,b\n`)).message).toMatch(/b\.csv line 3: id "bad.*id" contains a line break/s);
    }
    expect((await fail('q.csv', 'id,text\nok,a\n"two\nlines",b\n')).message).toMatch(/q\.csv line 4: id "two\\nlines" contains a line break \(U\+000A\)/);
    expect((await fail('e.csv', 'id,text\n,a\n')).message).toMatch(/e\.csv line 2: column "id" is empty/);
    expect((await fail('e.jsonl', '{"id":"","text":"a"}\n')).message).toMatch(/e\.jsonl line 1: field "id" must be a non-empty string or a number/);
  });
});

describe('readCorpus: texts and fields', () => {
  it('refuses a lone surrogate in a text or an id, naming the file, line and field (generated)', async () => {
    const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => `\\u${code.toString(16)}`);
    const sample = fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat(), lone, fc.string({ maxLength: 8 }), fc.boolean());
    await fc.assert(
      fc.asyncProperty(sample, async ([count, which, escape, around, inId]) => {
        const bad = which % count;
        // A non-surrogate after the escape, so a high surrogate stays alone.
        const broken = `${JSON.stringify(around).slice(1, -1)}${escape}x`;
        const rows = Array.from({ length: count }, (_, i) =>
          i !== bad ? `{"id":"d${i}","text":"t${i}"}` : inId ? `{"id":"${broken}","text":"t"}` : `{"id":"d${i}","text":"${broken}"}`,
        );
        const error = await fail('lone.jsonl', `${rows.join('\n')}\n`);
        expect(error.kind).toBe('bad_input');
        expect(error.message).toMatch(new RegExp(`lone\\.jsonl line ${bad + 1}: ${inId ? 'id .*' : 'field "text" '}holds a lone surrogate \\(U\\+D[89A-F][0-9A-F]{2} at character \\d+\\)`));
      }),
      { numRuns: 150 },
    );
    expect((await read('pair.jsonl', '{"text":"\\ud83d\\ude00"}\n')).texts).toEqual(['\u{1f600}']);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])('--text-field %s is looked up as an own field only', async (name) => {
    const fields = { textField: name, idField: 'id' };
    expect((await fail('p.csv', 'id,text\n1,a\n', fields)).message).toMatch(`p.csv line 1: has no column "${name}" (columns: id, text; set --text-field)`);
    expect((await fail('p.jsonl', '{"id":"1","text":"a"}\n', fields)).message).toMatch(`p.jsonl line 1: has no field "${name}" (set --text-field)`);
    // As an id field: absent means line numbers, not a function's source.
    expect((await read('p.jsonl', '{"text":"a"}\n', { textField: 'text', idField: name })).ids).toEqual(['1']);
    expect((await read('p.csv', 'text\na\n', { textField: 'text', idField: name })).ids).toEqual(['1']);
    // A field of that name that is there is read like any other.
    expect((await read('o.csv', `${name},id\nhello,x\n`, fields)).texts).toEqual(['hello']);
    expect((await read('o.jsonl', `{${JSON.stringify(name)}:"hello","id":"x"}\n`, fields)).texts).toEqual(['hello']);
  });

  it('refuses two CSV columns of the name it needs', async () => {
    expect((await fail('two.csv', 'text,id,text\na,1,b\n')).message).toMatch(/two\.csv line 1: has two columns named "text"/);
  });
});
