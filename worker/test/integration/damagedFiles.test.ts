/**
 * A damaged run.json or journal line is exit 2 naming the file and line (issue 9,
 * class 10), and a damaged journal line is recovered from with `headroom repair`:
 * the line goes aside, every valid record stays, and resume recomputes the chunk
 * the line described, to the same matrix as a run that was never damaged.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, makeCorpus, ofType, records, seededRandom, tempDir } from '../helpers.js';

const CHUNK = ['--chunk-size', '4'];

describe('damaged run files', () => {
  let dir: string;
  let corpus: string;
  let reference: string;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 16);
    reference = join(dir, 'reference');
    const made = await cli(embedArgs(corpus, reference, CHUNK));
    expect(made.exitCode, made.stderr).toBe(0);
  });

  it('names run.json and the line of any damage, exit 2, for status and resume', async () => {
    const manifest = join(reference, 'run.json');
    const text = readFileSync(manifest, 'utf8');
    const random = seededRandom(7);
    const cut = (at: number): string => text.slice(0, at);
    const damages = [
      ...Array.from({ length: 4 }, () => cut(1 + Math.floor(random() * (text.length - 2)))), // torn anywhere
      text.replace('"chunkSize": 4', '"chunkSize": "four"'),
      text.replace('"kind": "embed"', '"kind": embed'),
      '\u0000\u0001garbage',
    ];
    for (const [i, damaged] of damages.entries()) {
      const copy = join(dir, `manifest-${i}`);
      cpSync(reference, copy, { recursive: true });
      writeFileSync(join(copy, 'run.json'), damaged);
      for (const command of ['status', 'resume']) {
        const result = await cli([command, copy, '--json']);
        expect(result.exitCode, `${command} ${i}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toMatch(new RegExp(`${join(copy, 'run.json').replace(/[/.]/g, '\\$&')}.*line \\d+`));
        expect(result.stderr).not.toMatch(/^\s+at /m);
        expect(JSON.parse(result.stdout.trim())).toMatchObject({ event: 'error', exitCode: 2 });
      }
    }
  });

  it('refuses a damaged middle journal line naming it; repair keeps every valid record byte for byte', async () => {
    const lines = readFileSync(join(reference, 'journal.jsonl'), 'utf8').split('\n');
    const chunkLines = lines.flatMap((line, i) => (line.includes('"type":"chunk_done"') ? [i] : []));
    const damages: ((line: string) => string)[] = [
      (line) => line.slice(0, Math.floor(line.length / 2)), // half a record, then the next one
      (line) => line.replace('{', '{{'),
      (line) => line.replace('"chunk_done"', '"chunk_gone"'), // valid JSON, not a record
    ];
    for (const [i, damage] of damages.entries()) {
      const copy = join(dir, `journal-${i}`);
      cpSync(reference, copy, { recursive: true });
      const target = chunkLines[i]!;
      const damaged = lines.map((line, n) => (n === target ? damage(line) : line));
      const journal = join(copy, 'journal.jsonl');
      writeFileSync(journal, damaged.join('\n'));
      for (const command of ['status', 'resume']) {
        const result = await cli([command, copy]);
        expect(result.exitCode, `${command} ${i}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toContain(`${journal} line ${target + 1} is damaged`);
        expect(result.stderr).toContain(`headroom repair ${copy}`);
      }
      const repaired = await cli(['repair', copy, '--json']);
      expect(repaired.exitCode, repaired.stderr).toBe(0);
      expect(JSON.parse(repaired.stdout)).toMatchObject({ event: 'repaired', moved: [{ line: target + 1 }], kept: damaged.length - 2 });
      expect(readFileSync(`${journal}.damaged`, 'utf8')).toBe(`${damaged[target]}\n`);
      expect(readFileSync(journal, 'utf8')).toBe(`${damaged.filter((_, n) => n !== target && n !== damaged.length - 1).join('\n')}\n`);
      // Done already, with outputs that match the journal: resume checks them and is done.
      const resumed = await cli(['resume', copy]);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(readFileSync(join(copy, 'embeddings.npy')).equals(readFileSync(join(reference, 'embeddings.npy')))).toBe(true);
    }
  });

  it('recomputes on resume the chunk whose record a repair moved aside', async () => {
    const copy = join(dir, 'interrupted');
    const killed = await cli(embedArgs(corpus, copy, CHUNK), { HEADROOM_FAULT_KILL_AFTER_RENAME: '2' });
    expect(killed.exitCode, killed.stderr).toBe(3);
    const journal = join(copy, 'journal.jsonl');
    const lines = readFileSync(journal, 'utf8').split('\n');
    const first = lines.findIndex((line) => line.includes('"type":"chunk_done"') && line.includes('"index":0'));
    writeFileSync(journal, lines.map((line, n) => (n === first ? `${line.slice(0, 40)}\u0000` : line)).join('\n'));
    expect((await cli(['resume', copy])).exitCode).toBe(2);
    expect((await cli(['repair', copy])).stdout).toContain(`moved line ${first + 1} (not valid JSON)`);
    const resumed = await cli(['resume', copy]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const session = ofType(records(copy), 'session_started').at(-1)!;
    expect(session.recomputing).toEqual(expect.arrayContaining([expect.objectContaining({ index: 0, reason: 'file not in the journal' })]));
    expect(readFileSync(join(copy, 'embeddings.npy')).equals(readFileSync(join(reference, 'embeddings.npy')))).toBe(true);
  });
});
