/** Invariant 5: bad input gets exit 2, a message naming what is wrong, and costs nothing. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, makeCorpus, startCli, tempDir, type CliResult } from '../helpers.js';

describe('bad input', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, 10);
  });

  const input = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each([
    ['a missing file', () => join(dir, 'nope.jsonl'), /nope\.jsonl: input file not found/],
    ['an empty file', () => input('empty.txt', ''), /empty\.txt: holds no documents/],
    ['a malformed JSON line', () => input('bad.jsonl', '{"text":"a"}\n{"text":"b"}\n{"text": nope}\n'), /bad\.jsonl line 3: not valid JSON/],
    ['a missing text field', () => input('field.jsonl', '{"text":"a"}\n{"body":"b"}\n'), /field\.jsonl line 2: has no field "text"/],
    ['duplicate ids', () => input('dup.csv', 'id,text\n1,a\n2,b\n1,c\n'), /dup\.csv line 4: duplicate id "1" \(first seen on line 2\)/],
    ['an unsupported format', () => input('x.parquet', 'x'), /unsupported format ".parquet"/],
  ])('%s: exit 2, the problem named, no run created', async (_name, file, message) => {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const result = await cli(embedArgs(file(), out));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('a model that cannot be found offline: exit 2, before anything is created (its files are fingerprinted first)', async () => {
    const out = join(dir, 'no-model');
    const result = await cli(['embed', corpus, '--out', out, '--model', 'nobody-here/no-such-model', '--json']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/'nobody-here\/no-such-model' is neither a folder nor in the local Hugging Face cache/);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'error', kind: 'bad_input' });
    expect(existsSync(out)).toBe(false);
  });

  it('a model folder that does not exist is refused before anything is created', async () => {
    const out = join(dir, 'no-folder');
    const result = await cli(['embed', corpus, '--out', out, '--model', './no/such/model']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/model folder .\/no\/such\/model does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [['embed', 'x.txt'], /required option '--out <dir>'/],
    [['embed', 'x.txt', '--out', 'o', '--chunk-size', '0'], /--chunk-size.*whole number of 1 or more/],
    [['embed', 'x.txt', '--out', 'o', '--device', 'tpu'], /auto, cpu, cuda or cuda:N/],
    [['embed', 'x.txt', '--out', 'o', '--frobnicate'], /unknown option '--frobnicate'/],
    [['resume', join('/tmp', 'not-a-run-folder')], /is not a Headroom run/],
    [['launch'], /unknown command 'launch'/],
  ])('wrong usage %j: exit 2 with a message', async (args, message) => {
    const result = await cli(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('refuses to overwrite an existing run and points to resume', async () => {
    const out = join(dir, 'existing');
    expect((await cli(embedArgs(corpus, out))).exitCode).toBe(0);
    const again = await cli(embedArgs(corpus, out));
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already holds a run: continue it with `headroom resume/);
  });

  it('refuses to resume when the input changed since the run began', async () => {
    const source = input('changing.jsonl', '{"text":"a"}\n{"text":"b"}\n');
    const out = join(dir, 'changed');
    expect((await cli(embedArgs(source, out, ['--keep-chunks']))).exitCode).toBe(0);
    writeFileSync(join(out, 'embeddings.npy'), ''); // force real work on resume
    writeFileSync(source, '{"text":"a"}\n{"text":"c"}\n');
    const result = await cli(['resume', out]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/changing\.jsonl: changed since the run was created/);
  });
});

/** The CLI, killed if it hangs (a FIFO used to block it until someone wrote to it). */
async function cliWithin(args: string[], ms = 30_000): Promise<CliResult & { hung: boolean }> {
  const child = startCli(args);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, ms);
  const result = await child;
  clearTimeout(timer);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), hung };
}

describe('bad input: what the path is, what the lines hold', () => {
  let dir: string;
  let socket: Server;
  const out = (): string => join(dir, `out-${Math.random().toString(36).slice(2)}`);

  beforeAll(async () => {
    dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'pipe.jsonl')]);
    mkdirSync(join(dir, 'folder.jsonl'));
    symlinkSync(join(dir, 'pipe.jsonl'), join(dir, 'to-pipe.csv'));
    symlinkSync('/dev/zero', join(dir, 'zero.jsonl'));
    symlinkSync(join(dir, 'nothing.txt'), join(dir, 'dangling.txt'));
    socket = createServer();
    await new Promise<void>((resolve) => socket.listen(join(dir, 'socket.jsonl'), resolve));
  });
  afterAll(() => socket.close());

  it.each([
    ['pipe.jsonl', /pipe\.jsonl: is a FIFO \(named pipe\), not a regular file/],
    ['to-pipe.csv', /to-pipe\.csv: is a symlink to a FIFO \(named pipe\) \(.*pipe\.jsonl\), not a regular file/],
    ['zero.jsonl', /zero\.jsonl: is a symlink to a character device \(\/dev\/zero\), not a regular file/],
    ['socket.jsonl', /socket\.jsonl: is a socket, not a regular file/],
    ['folder.jsonl', /folder\.jsonl: is a folder, not a regular file/],
    ['dangling.txt', /dangling\.txt: is a symlink to a missing file/],
  ])('%s: refused at once with exit 2, naming what the path is; nothing created', async (name, message) => {
    const target = out();
    const result = await cliWithin(embedArgs(join(dir, name), target));
    expect(result.hung).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(existsSync(target)).toBe(false);
  });

  it('/dev/zero itself is refused without reading a byte', async () => {
    const result = await cliWithin(embedArgs('/dev/zero', out()));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\/dev\/zero: is a character device, not a regular file/);
  });

  it.each([
    ['a lone high surrogate', '\\ud800'],
    ['a lone low surrogate', 'ab\\udfff'],
    ['a high surrogate before a non-surrogate', '\\udbff\\u0041'],
  ])('%s in a text: exit 2 naming the file, line and field; nothing created', async (_name, escape) => {
    const file = join(dir, `lone-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(file, `{"id":"a","text":"fine"}\n{"id":"b","text":"also fine"}\n{"id":"c","text":"x${escape}y"}\n`);
    const target = out();
    const result = await cli(embedArgs(file, target));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/lone-\w+\.jsonl line 3: field "text" holds a lone surrogate \(U\+D[89A-F][0-9A-F]{2} at character \d+\), which is not text/);
    expect(existsSync(target)).toBe(false);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('--text-field %s reaches no prototype: exit 2, the field named, nothing created', async (field) => {
    const csv = join(dir, 'proto.csv');
    const jsonl = join(dir, 'proto.jsonl');
    writeFileSync(csv, 'id,text\n1,a\n2,b\n');
    writeFileSync(jsonl, '{"id":"1","text":"a"}\n');
    for (const [file, message] of [
      [csv, `proto.csv line 1: has no column "${field}" (columns: id, text; set --text-field)`],
      [jsonl, `proto.jsonl line 1: has no field "${field}" (set --text-field)`],
    ] as const) {
      const target = out();
      const result = await cli(embedArgs(file, target, ['--text-field', field]));
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/invalid_type|ZodError|expected string/);
      expect(existsSync(target)).toBe(false);
    }
  });

  it.each([
    ['U+2028', '\\u2028'],
    ['U+0085', '\\u0085'],
    ['U+000B', '\\u000b'],
    ['U+001E', '\\u001e'],
  ])('an id holding %s is refused with its line number', async (code, escape) => {
    const file = join(dir, `break-${code}.jsonl`);
    writeFileSync(file, `{"id":"a","text":"x"}\n\n{"id":"b${escape}c","text":"y"}\n`);
    const target = out();
    const result = await cli(embedArgs(file, target));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`line 3: id `);
    expect(result.stderr).toContain(`contains a line break (${code}), so it would not read back as one line of ids.txt`);
    expect(existsSync(target)).toBe(false);
  });
});
