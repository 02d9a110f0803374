/** Class 7 (ids): a real run's ids.txt, read back by Python's splitlines(), is the ids exactly as written. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/runtimePaths.js';
import { cli, embedArgs, tempDir } from '../helpers.js';

/** Every character Python's str.splitlines() splits on: never inside a generated id. */
const LINE_BREAKS = ['\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029'];

const plainId = fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).filter((id) => !LINE_BREAKS.some((c) => id.includes(c)));
const numberSource = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.option(fc.stringMatching(/^[0-9]{1,4}$/)), fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,2}$/)))
  .map(([negative, int, fraction, exponent]) => `${negative ? '-' : ''}${int}${fraction === null ? '' : `.${fraction}`}${exponent ?? ''}`);

/** Ids that JSON numbers and doubles used to break: 2^53 + 1 rounded onto 2^53, 1.0 shown as 1, 1e2 as 100. */
const NASTY = ['9007199254740993', '9007199254740992', '1.0', '1', '1e2', '100', '-0', '0', '1E+2', '123456789012345678901234567890'];

function readBackIds(runDir: string): string[] {
  const script = 'import json, sys\nprint(json.dumps(open(sys.argv[1], encoding="utf-8").read().splitlines()))';
  return JSON.parse(execFileSync(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', script, join(runDir, 'ids.txt')]).toString()) as string[];
}

describe('ids through a real run', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });

  it('jsonl: numbers keep their source text and generated ids of any code points read back exactly', async () => {
    const generated = fc.sample(fc.uniqueArray(fc.oneof(plainId, numberSource), { minLength: 30, maxLength: 30 }), { numRuns: 1, seed: 20261201 })[0]!;
    const ids = [...NASTY, ...generated.filter((id) => !NASTY.includes(id))];
    const jsonNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/; // written raw: a JSON number, not a string
    const lines = ids.map((id, i) => `{"id":${jsonNumber.test(id) ? id : JSON.stringify(id)},"text":"document ${i}"}`);
    const input = join(dir, 'ids.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'jsonl-run');
    const result = await cli(embedArgs(input, out, ['--chunk-size', '16']));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readBackIds(out)).toEqual(ids);
  });

  it('csv: generated ids (quoted, with commas and quotes) read back exactly', async () => {
    const ids = fc.sample(fc.uniqueArray(plainId, { minLength: 25, maxLength: 25 }), { numRuns: 1, seed: 7 })[0]!;
    const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
    const input = join(dir, 'ids.csv');
    writeFileSync(input, `text,id\n${ids.map((id, i) => `doc ${i},${quote(id)}`).join('\n')}\n`);
    const out = join(dir, 'csv-run');
    const result = await cli(embedArgs(input, out));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readBackIds(out)).toEqual(ids);
  });
});
