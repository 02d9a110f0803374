/** Invariant 5: bad input gets exit 2, a message naming what is wrong, and costs nothing. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, makeCorpus, ofType, records, tempDir } from '../helpers.js';

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

  it('a model that cannot be found offline: exit 2, and the run is failed, not done', async () => {
    const out = join(dir, 'no-model');
    const result = await cli(['embed', corpus, '--out', out, '--model', 'nobody-here/no-such-model', '--json']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/'nobody-here\/no-such-model' is neither a folder nor in the local Hugging Face cache/);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'error', kind: 'bad_input' });
    expect(existsSync(join(out, 'embeddings.npy'))).toBe(false);
    expect(ofType(records(out), 'run_failed')).toHaveLength(1);
    const status = await cli(['status', out]);
    expect(status.stdout).toMatch(/state +failed/);
    expect(status.stdout).toMatch(/error +model 'nobody-here/);
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
    expect(result.stderr).toMatch(/changing\.jsonl changed since the run was created/);
  });
});
